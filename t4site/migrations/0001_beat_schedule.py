"""The four scheduled jobs of SPEC, created once.

``get_or_create`` by name: re-running migrations never overwrites an admin's edits to a
schedule, and a deleted schedule is not resurrected silently (it is re-created only when the
migration runs for the first time on a database).
"""

from django.db import migrations

JOBS = [
    ("t4: close the day (quota reset, spend roll-up)", "llmgate.tasks.close_day", "0", "0"),
    ("t4: expire waivers", "intents.tasks.expire_waivers", "5", "0"),
    ("t4: flag stale intents", "intents.tasks.flag_stale_intents", "0", "1"),
    ("t4: prune request logs", "audit.tasks.prune_request_logs", "0", "2"),
]


def create_schedules(apps, schema_editor):
    CrontabSchedule = apps.get_model("django_celery_beat", "CrontabSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    for name, task, minute, hour in JOBS:
        crontab, _ = CrontabSchedule.objects.get_or_create(
            minute=minute,
            hour=hour,
            day_of_week="*",
            day_of_month="*",
            month_of_year="*",
            timezone="UTC",
        )
        PeriodicTask.objects.get_or_create(
            name=name, defaults={"task": task, "crontab": crontab, "enabled": True}
        )


def remove_schedules(apps, schema_editor):
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    PeriodicTask.objects.filter(name__in=[name for name, *_ in JOBS]).delete()


class Migration(migrations.Migration):
    dependencies = [("django_celery_beat", "0019_alter_periodictasks_options")]
    operations = [migrations.RunPython(create_schedules, remove_schedules)]
