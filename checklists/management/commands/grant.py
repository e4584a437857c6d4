from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

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

    def handle(self, *args, username, slug, role, signoff, revoke, **options):
        user = get_user_model().objects.filter(username=username).first()
        launch = Launch.objects.filter(slug=slug).first()
        if user is None or launch is None:
            raise CommandError(
                f"no user {username!r}" if user is None else f"no launch {slug!r}", returncode=2
            )
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
        membership_grant(launch, user, role, signoff, actor_name="grant command")
        self.stdout.write(f"{username} is {role}{f' ({signoff})' if signoff else ''} of {slug}")
