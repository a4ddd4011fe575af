from django.conf import settings
from django.contrib import admin
from django.urls import include, path

from closeloop.api import api
from closeloop.leads import views_public

urlpatterns = [
    path("", include("closeloop.core.urls")),
    path("leads/", include("closeloop.leads.urls")),
    path("deals/", include("closeloop.deals.urls")),
    # The public web form sits outside /leads/ so embed URLs stay short and say nothing about the app.
    path("f/<str:form_key>/", views_public.public_form_view, name="public_form"),
    path("f/<str:form_key>/thanks/", views_public.public_form_thanks_view, name="public_form_thanks"),
    path("api/", api.urls),
    path("i18n/", include("django.conf.urls.i18n")),
    path("django-admin/", admin.site.urls),
]

if settings.DEBUG:
    from django.conf.urls.static import static

    urlpatterns += static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT)
