from django.core.management.base import BaseCommand, CommandError

from checklists.core.tokens import token_revoke
from checklists.models import ApiToken


class Command(BaseCommand):
    help = "Revoke a launch's API token, named by the characters it starts with."

    def add_arguments(self, parser):
        parser.add_argument("slug")
        parser.add_argument("prefix", help="the token's first characters, as listed")

    def handle(self, *args, slug, prefix, **options):
        tokens = ApiToken.objects.filter(
            launch__slug=slug, prefix__startswith=prefix[:10], revoked_at__isnull=True
        )
        if tokens.count() != 1:
            raise CommandError(
                f"{tokens.count()} active tokens of {slug!r} start with that", returncode=2
            )
        token = tokens.get()
        token_revoke(token)
        self.stdout.write(f"revoked {token.name} ({token.prefix}…)")
