"""The admin shows Launchboard's rows and never writes them."""

from django.contrib import admin


class NoWrites:
    """Admin pages (a model's, an inline's) that show rows and never add, change or delete."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class ReadOnlyAdmin(NoWrites, admin.ModelAdmin):
    """Viewable, never written here.

    Every row of ours is either the plan's (edit the plan file and ``import_plan`` it), live
    state changed through the services (which append an Event, bump the version, push to open
    pages and make approvals stale), or evidence of what happened. A save in the admin would do
    none of that, so the admin only shows them."""
