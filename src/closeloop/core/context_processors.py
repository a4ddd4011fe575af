from django.utils.functional import SimpleLazyObject

from .navigation import menu_for


def navigation(request):
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}

    def menu():
        groups = menu_for(user, request.path)
        return {"home": next((g.links for g in groups if g.key == "home"), []),
                "groups": [g for g in groups if g.key != "home"],
                "settings": next((g.links for g in groups if g.key == "settings"), [])}

    # Lazy: partial (htmx) responses never render the navigation, so they never build it.
    return {"nav": SimpleLazyObject(menu),
            "unread_notifications": user.notifications.filter(read_at__isnull=True).count()}
