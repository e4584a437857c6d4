from django.contrib import admin

from launchboard.readonly import NoWrites, ReadOnlyAdmin

from .models import (
    ApiToken,
    BoardState,
    Criterion,
    DecisionRecord,
    Event,
    Gate,
    Launch,
    LoadTest,
    Meeting,
    MeetingVote,
    Membership,
    Risk,
    ShareLink,
    SignOff,
    SignOffRole,
    StatePart,
    Task,
    Waiver,
)


class LaunchPart(NoWrites, admin.TabularInline):
    extra = 0
    show_change_link = True


class TaskInline(LaunchPart):
    model = Task
    fields = ("key", "title", "priority", "estimate_minutes", "status", "order")


class CriterionInline(LaunchPart):
    model = Criterion
    fields = ("key", "title", "section", "kind", "required", "threshold", "checked", "order")


@admin.register(Launch)
class LaunchAdmin(ReadOnlyAdmin):
    list_display = ("name", "slug", "visibility", "phase", "version", "updated_at")
    search_fields = ("name", "slug")
    readonly_fields = ("version", "plan_hash", "created_at", "updated_at")
    inlines = [TaskInline, CriterionInline]


@admin.register(Task)
class TaskAdmin(ReadOnlyAdmin):
    list_display = ("key", "title", "launch", "priority", "estimate_minutes", "status")
    list_filter = ("launch", "priority", "status")


@admin.register(LoadTest)
class LoadTestAdmin(ReadOnlyAdmin):
    list_display = ("key", "title", "launch")
    list_filter = ("launch",)


@admin.register(Criterion)
class CriterionAdmin(ReadOnlyAdmin):
    list_display = ("key", "title", "launch", "section", "kind", "required", "threshold", "checked")
    list_filter = ("launch", "section", "kind", "required")


@admin.register(Risk)
class RiskAdmin(ReadOnlyAdmin):
    list_display = ("key", "title", "launch", "before_level", "after_level")
    list_filter = ("launch",)


@admin.register(Gate)
class GateAdmin(ReadOnlyAdmin):
    list_display = ("key", "title", "launch", "order", "pass_label", "fail_label")
    list_filter = ("launch",)


@admin.register(SignOffRole)
class SignOffRoleAdmin(ReadOnlyAdmin):
    list_display = ("key", "title", "launch", "required")
    list_filter = ("launch",)


@admin.register(SignOff)
class SignOffAdmin(ReadOnlyAdmin):
    list_display = ("launch", "role", "decision", "by_name", "at")
    list_filter = ("launch", "role", "decision")


@admin.register(Event)
class EventAdmin(ReadOnlyAdmin):
    list_display = ("launch", "version", "kind", "actor_name", "summary", "created_at")
    list_filter = ("launch", "kind")
    search_fields = ("summary", "subject")


@admin.register(Membership)
class MembershipAdmin(ReadOnlyAdmin):
    list_display = ("launch", "user", "role", "signoff_role", "created_at")
    list_filter = ("launch", "role")


@admin.register(ShareLink)
class ShareLinkAdmin(ReadOnlyAdmin):
    list_display = ("launch", "label", "created_by", "created_at", "revoked_at")
    list_filter = ("launch",)
    readonly_fields = ("digest",)


@admin.register(Waiver)
class WaiverAdmin(ReadOnlyAdmin):
    list_display = ("launch", "criterion", "role", "by_name", "expires_at", "revoked_at")
    list_filter = ("launch",)


@admin.register(ApiToken)
class ApiTokenAdmin(ReadOnlyAdmin):
    list_display = (
        "launch",
        "name",
        "prefix",
        "scopes",
        "expires_at",
        "revoked_at",
        "last_used_at",
    )
    list_filter = ("launch",)
    readonly_fields = ("digest", "prefix", "last_used_at")


@admin.register(Meeting)
class MeetingAdmin(ReadOnlyAdmin):
    list_display = ("launch", "frozen_version", "opened_by_name", "opened_at", "closed_at")
    list_filter = ("launch",)


@admin.register(MeetingVote)
class MeetingVoteAdmin(ReadOnlyAdmin):
    list_display = ("meeting", "role", "vote", "by_name", "at")


@admin.register(DecisionRecord)
class DecisionRecordAdmin(ReadOnlyAdmin):
    list_display = ("launch", "outcome", "version", "verdict", "decided_by_name", "decided_at")
    list_filter = ("launch", "outcome")


@admin.register(BoardState)
class BoardStateAdmin(ReadOnlyAdmin):
    list_display = ("launch", "version", "at", "root")
    list_filter = ("launch",)


@admin.register(StatePart)
class StatePartAdmin(ReadOnlyAdmin):
    list_display = ("sha",)
