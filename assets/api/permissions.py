from rest_framework.permissions import BasePermission


class IsStaff(BasePermission):
    """The API is for staff; everyone else is refused before any asset is looked at."""

    message = "Staff account required."

    def has_permission(self, request, view) -> bool:
        user = request.user
        return bool(user and user.is_authenticated and user.is_active and (user.is_staff or user.is_superuser))
