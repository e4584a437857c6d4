from django.contrib import admin

from notifications.models import LaunchNotice, Message, Subscription


class MessageInline(admin.TabularInline):
    model = Message
    extra = 0
    fields = ("sequence", "kind", "title", "status", "attempts", "next_attempt_at", "last_error")
    readonly_fields = fields
    ordering = ("-sequence",)
    can_delete = False
    max_num = 0


@admin.register(Subscription)
class SubscriptionAdmin(admin.ModelAdmin):
    list_display = ("launch", "kind", "shown_target", "active", "created_by", "last_message_at")
    list_filter = ("kind", "active", "launch")
    # the target (a secret URL) and the signing secret are never shown here
    exclude = ("target", "secret", "lease_until")
    readonly_fields = ("shown_target", "next_sequence", "last_message_at")
    inlines = [MessageInline]

    def has_add_permission(self, request):
        return False  # made on the launch's notifications page, which shows the secret once


@admin.register(Message)
class MessageAdmin(admin.ModelAdmin):
    list_display = (
        "subscription",
        "sequence",
        "kind",
        "status",
        "attempts",
        "next_attempt_at",
        "last_error",
    )
    list_filter = ("status", "kind")
    readonly_fields = [f.name for f in Message._meta.fields]


@admin.register(LaunchNotice)
class LaunchNoticeAdmin(admin.ModelAdmin):
    list_display = ("launch", "flush_due_at")
