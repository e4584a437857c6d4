from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from launchboard.demo.story import DemoError, Story, demo_has_run


class Command(BaseCommand):
    help = (
        "Replay the seed's launch day on the demo launch with real evidence: k6 runs against a "
        "stand-in API whose database pool runs dry, the fix, the suite, the people and their "
        "sign-offs (about 3 minutes; --scale 0.25 for a quick one)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--scale", type=float, default=1.0, help="stretch k6 durations")
        parser.add_argument("--pace", type=float, default=0.0, help="seconds between steps")
        parser.add_argument(
            "--if-empty", action="store_true", help="only if the demo launch has no runs yet"
        )

    def handle(self, *args, scale, pace, if_empty, **options):
        if if_empty and demo_has_run():
            self.stdout.write("The demo launch has runs already: nothing to replay.")
            return
        try:
            story = Story(scale=scale, pace=pace)
        except DemoError as exc:
            raise CommandError(str(exc), returncode=2) from None
        steps = story.steps()
        with tqdm(total=len(steps), unit="step", disable=None, leave=False) as bar:

            def said(i, step, what):
                bar.write(f"{i + 1:>2}/{len(steps)} {step.title}: {what}")
                bar.update(1)

            try:
                verdict = story.run(said)
            except DemoError as exc:
                raise CommandError(str(exc), returncode=1) from None
        self.stdout.write(f"Verdict: {verdict.replace('_', ' ')}")
