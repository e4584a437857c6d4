"""Pages: a launch's notifications (its admins), "Notify me" (stakeholders with a share link and
members), and the unsubscribe link every email carries."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Prefetch
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.cache import never_cache

from checklists.core.access import SHARE_SESSION_KEY, launch_for, readable_launch
from notifications import services
from notifications.models import Message, Subscription


def _pending(subscription) -> list:
    return [m for m in subscription.recent if m.status == Message.Status.PENDING]


def _rows(launch) -> list[dict]:
    recent = Message.objects.order_by("-sequence")
    subs = Subscription.objects.filter(launch=launch).prefetch_related(
        Prefetch("messages", queryset=recent, to_attr="recent")
    )
    rows = []
    for s in subs.order_by("created_at"):
        pending = sorted(_pending(s), key=lambda m: m.sequence)
        sent = next((m for m in s.recent if m.status == Message.Status.SENT), None)
        failing = next((m for m in pending if m.attempts), None)
        rows.append({"s": s, "sent": sent, "pending": len(pending), "failing": failing})
    return rows


def _posted_subscription(request, launch) -> Subscription:
    pk = request.POST.get("subscription", "")
    if not pk.isdigit() or len(pk) > 18:
        raise Http404("No such subscription.")
    return get_object_or_404(Subscription, launch=launch, pk=int(pk))


def _remind(request) -> int | None:
    text = request.POST.get("remind", "").strip()
    return int(text) if text.isdigit() and len(text) < 6 else None


@never_cache
@login_required
def notifications_view(request, slug):
    launch = launch_for(request, slug, "admin")
    created, error = None, ""
    if request.method == "POST":
        action = request.POST.get("action")
        if action == "remove":
            services.subscription_remove(_posted_subscription(request, launch))
            return redirect("launch-notifications", slug=slug)
        if action == "test":
            services.test_message(_posted_subscription(request, launch))
            messages.info(request, "A test message is on its way; its delivery shows below.")
            return redirect("launch-notifications", slug=slug)
        try:
            created = services.subscription_create(
                launch=launch,
                kind=request.POST.get("kind", ""),
                target=request.POST.get("target", ""),
                user=request.user,
                created_by=request.user.get_username(),
                remind_minutes=_remind(request),
            )
        except services.Refused as exc:
            error = str(exc)
    context = {
        "launch": launch,
        "rows": _rows(launch),
        "created": created,
        "error": error,
        "kinds": Subscription.Kind.choices,
        "posted": request.POST if error else {},
    }
    return render(request, "notifications/page.html", context, status=400 if error else 200)


def _may_subscribe(request, launch) -> bool:
    """Stakeholders who came by a share link, and anyone signed in who may read the launch; a
    public launch's anonymous readers are not asked for addresses (no one could stop abuse)."""
    if request.user.is_authenticated:
        return True
    return bool((request.session.get(SHARE_SESSION_KEY) or {}).get(str(launch.pk)))


@never_cache
def notify_me_view(request, slug):
    launch = readable_launch(request, slug)
    if not _may_subscribe(request, launch):
        raise Http404("Open the share link you were given first.")
    error, done = "", None
    if request.method == "POST":
        try:
            done = services.subscription_create(
                launch=launch,
                kind=Subscription.Kind.EMAIL,
                target=request.POST.get("email", ""),
                user=request.user,
                created_by=request.user.get_username()
                if request.user.is_authenticated
                else "share link",
            )
        except services.Refused as exc:
            error = str(exc)
    email = request.POST.get("email") or getattr(request.user, "email", "")
    context = {"launch": launch, "error": error, "done": done, "email": email}
    return render(request, "notifications/notify_me.html", context, status=400 if error else 200)


@never_cache
def unsubscribe_view(request, token):
    """GET asks, POST stops (mail scanners open links; they do not press buttons)."""
    subscription = services.subscription_by_token(token)
    if subscription is None:
        raise Http404("This link is not valid, or you were unsubscribed already.")
    launch = subscription.launch
    if request.method == "POST":
        services.subscription_remove(subscription)
        return render(request, "notifications/unsubscribe.html", {"launch": launch, "done": True})
    context = {"launch": launch, "address": subscription.shown_target}
    return render(request, "notifications/unsubscribe.html", context)
