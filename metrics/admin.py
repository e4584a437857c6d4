from django.contrib import admin

from .models import Source


@admin.register(Source)
class SourceAdmin(admin.ModelAdmin):
    list_display = ("key", "title", "launch", "kind", "interval_seconds", "last_success_at")
    list_filter = ("launch", "kind")
    readonly_fields = (
        "last_polled_at",
        "last_success_at",
        "last_error",
        "last_error_at",
        "consecutive_failures",
    )
