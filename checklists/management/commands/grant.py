from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from checklists.core import accounts
from checklists.core.services import membership_grant, membership_remove
from checklists.models import Launch, Membership


class Command(BaseCommand):
    help = "Give a person a role on a launch: viewer, engineer, approver (with --signoff), admin."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("slug")
        parser.add_argument("role", choices=Membership.Role.values)
        parser.add_argument("--signoff", default="", help="for approvers: the sign-off role")
        parser.add_argument("--revoke", action="store_true", help="take the role away")
        parser.add_argument(
            "--create",
            action="store_true",
            help="make the account if there is none, and print its one-time set-password link",
        )
        parser.add_argument("--email", default="", help="with --create: the person's address")

    def handle(self, *args, username, slug, role, signoff, revoke, create, email, **options):
        user = get_user_model().objects.filter(username=username).first()
        launch = Launch.objects.filter(slug=slug).first()
        if launch is None:
            raise CommandError(f"no launch {slug!r}", returncode=2)
        if user is None and (revoke or not create):
            hint = "" if revoke else " (add --create to make the account)"
            raise CommandError(f"no user {username!r}{hint}", returncode=2)
        if role == Membership.Role.APPROVER and not launch.signoff_roles.filter(key=signoff):
            keys = ", ".join(launch.signoff_roles.values_list("key", flat=True))
            raise CommandError(f"an approver needs --signoff, one of: {keys}", returncode=2)
        signoff = signoff if role == Membership.Role.APPROVER else ""
        rows = Membership.objects.filter(launch=launch, user=user, role=role, signoff_role=signoff)
        if revoke:
            for membership in rows.select_related("user", "launch"):
                membership_remove(membership, actor_name="grant command")
            self.stdout.write(f"{username} is no longer {role} {signoff} of {slug}")
            return
        invitation = None
        with transaction.atomic():
            if user is None:
                try:
                    invitation = accounts.invite(
                        username, email, base_url=settings.PUBLIC_URL, by="grant command"
                    )
                except accounts.InviteRefused as exc:
                    raise CommandError(str(exc), returncode=2) from None
                user = invitation.user
            membership_grant(launch, user, role, signoff, actor_name="grant command")
        self.stdout.write(f"{username} is {role}{f' ({signoff})' if signoff else ''} of {slug}")
        if invitation is not None and invitation.emailed:
            self.stdout.write(f"the link to set a password was sent to {invitation.user.email}")
        elif invitation is not None:
            self.stdout.write(
                f"{username} sets a password at this link (once, within {invitation.days} days):"
                f"\n{invitation.link}"
            )
