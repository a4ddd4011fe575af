"""The leads app's audit actions: the codes its services write to the trail, with their timeline labels."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class LeadAction(models.TextChoices):
    CREATE = "lead.create", _("Lead created")
    UPDATE = "lead.update", _("Lead edited")
    ASSIGN = "lead.assign", _("Lead assigned")
    DISQUALIFY = "lead.disqualify", _("Lead disqualified")
    TOUCH = "lead.touch", _("Submitted again (duplicate)")
    MERGE = "lead.merge", _("Leads merged into this one")
    MERGED = "lead.merged", _("Merged into another lead")
    CLAIM = "lead.claim", _("Claimed from the public pool")
    RETURN_TO_POOL = "lead.return_to_pool", _("Returned to the public pool")
    RELEASE = "lead.release", _("Released to the public pool")
    IMPORT_UPLOAD = "import.upload", _("Import uploaded")
    IMPORT_START = "import.start", _("Import started")
    IMPORT_CANCEL = "import.cancel", _("Import cancelled")
    IMPORT_FINISH = "import.finish", _("Import finished")
    CAMPAIGN_CREATE = "campaign.create", _("Campaign created")
    CAMPAIGN_UPDATE = "campaign.update", _("Campaign edited")
    CAMPAIGN_REGENERATE_KEY = "campaign.regenerate_key", _("Web form address renewed")
    SOURCE_CREATE = "source.create", _("Source created")
    SOURCE_UPDATE = "source.update", _("Source edited")
    SOURCE_MOVE = "source.move", _("Source moved")
    USER_SOURCE_CHANNELS = "user.source_channels", _("Source channels changed")
    SETTINGS_INTAKE = "settings.intake", _("Intake rules changed")
    SETTINGS_LEAD_QUALITY = "settings.lead_quality", _("Lead rules changed")
    SCORING_RULE_CREATE = "scoring_rule.create", _("Scoring rule created")
    SCORING_RULE_UPDATE = "scoring_rule.update", _("Scoring rule edited")
    SCORING_RULE_DELETE = "scoring_rule.delete", _("Scoring rule deleted")
    ASSIGNMENT_RULE_CREATE = "assignment_rule.create", _("Assignment rule created")
    ASSIGNMENT_RULE_UPDATE = "assignment_rule.update", _("Assignment rule edited")
    ASSIGNMENT_RULE_DELETE = "assignment_rule.delete", _("Assignment rule deleted")
    ASSIGNMENT_RULE_MOVE = "assignment_rule.move", _("Assignment rule moved")
