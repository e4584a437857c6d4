from django.contrib import admin

from launchboard.readonly import ReadOnlyAdmin

from .models import Run, RunSeries, Source, SourceReading, SourceSeries


@admin.register(Source)
class SourceAdmin(ReadOnlyAdmin):
    list_display = ("key", "title", "launch", "kind", "interval_seconds", "last_success_at")
    list_filter = ("launch", "kind")
    readonly_fields = (
        "last_polled_at",
        "last_success_at",
        "last_error",
        "last_error_at",
        "consecutive_failures",
    )


@admin.register(Run)
class RunAdmin(ReadOnlyAdmin):
    list_display = ("id", "launch", "test", "tool", "status", "complete", "created_at")
    list_filter = ("launch", "test", "status", "tool")
    readonly_fields = ("sha256", "created_at")


@admin.register(RunSeries)
class RunSeriesAdmin(ReadOnlyAdmin):
    list_display = ("run",)


@admin.register(SourceReading)
class SourceReadingAdmin(ReadOnlyAdmin):
    list_display = ("source", "metric", "aggregate", "window_s", "value", "at", "polled_at")
    list_filter = ("source",)


@admin.register(SourceSeries)
class SourceSeriesAdmin(ReadOnlyAdmin):
    list_display = ("source", "metric", "aggregate", "window_s", "updated_at")
