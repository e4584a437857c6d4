from datetime import timedelta

from django.core.management.base import BaseCommand, CommandError

from checklists.core.tokens import token_create
from checklists.engine.plan import parse_duration_seconds
from checklists.models import ApiToken, Launch


class Command(BaseCommand):
    help = "Make an API token for CI; it is printed once and stored only as a hash."

    def add_arguments(self, parser):
        parser.add_argument("slug")
        parser.add_argument("--name", default="ci")
        parser.add_argument(
            "--scope",
            action="append",
            dest="scopes",
            choices=ApiToken.Scope.values,
            help="repeat for several; default: runs:write and readiness:read",
        )
        parser.add_argument("--expires", default="90d", help="e.g. 30d, 12h; 'never' for none")

    def handle(self, *args, slug, name, scopes, expires, **options):
        launch = Launch.objects.filter(slug=slug).first()
        if launch is None:
            raise CommandError(f"no launch {slug!r}", returncode=2)
        expires_in = None
        if expires != "never":
            try:
                expires_in = timedelta(seconds=parse_duration_seconds(expires))
            except ValueError as exc:
                raise CommandError(f"--expires: {exc}", returncode=2) from None
        token, plain = token_create(
            launch,
            name=name,
            scopes=scopes or list(ApiToken.Scope.values),
            created_by="create_token",
            expires_in=expires_in,
        )
        self.stderr.write(
            f"Token {token.name!r} for {slug} ({', '.join(token.scopes)}), "
            f"expires {token.expires_at or 'never'}. It is shown once:"
        )
        self.stdout.write(plain)
