"""On PostgreSQL, the database itself refuses UPDATE and DELETE on the event log and on
sign-offs: even code that bypasses the ORM cannot rewrite history (a superuser who disables
the trigger is caught by verify_audit)."""

from django.db import migrations

TABLES = ("checklists_event", "checklists_signoff")
FUNCTION = """
CREATE OR REPLACE FUNCTION launchboard_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'launchboard: % on % is refused: the table is append-only', TG_OP, TG_TABLE_NAME;
END;
$$ LANGUAGE plpgsql;
"""


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(FUNCTION, params=None)  # None: the % in it are PL/pgSQL's
    for table in TABLES:
        schema_editor.execute(
            f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
            "FOR EACH ROW EXECUTE FUNCTION launchboard_append_only()"
        )


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for table in TABLES:
        schema_editor.execute(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}")
    schema_editor.execute("DROP FUNCTION IF EXISTS launchboard_append_only()")


class Migration(migrations.Migration):
    dependencies = [("checklists", "0004_people_and_trust")]
    operations = [migrations.RunPython(forwards, backwards)]
