"""The hourly request-log roll-up (``audit.tasks.rollup_request_logs``): minute 2, UTC.

Minute 2 rather than 0 lets requests that finished at the end of the hour be written first
(the next run also re-rolls the previous hour). Created once with ``get_or_create`` by name,
like 0001, so an admin's edits to the schedule survive re-running migrations.
"""

from django.db import migrations

NAME = "t4: roll up request logs (hourly)"
TASK = "audit.tasks.rollup_request_logs"


def create_schedule(apps, schema_editor):
    CrontabSchedule = apps.get_model("django_celery_beat", "CrontabSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    crontab, _ = CrontabSchedule.objects.get_or_create(
        minute="2",
        hour="*",
        day_of_week="*",
        day_of_month="*",
        month_of_year="*",
        timezone="UTC",
    )
    PeriodicTask.objects.get_or_create(
        name=NAME, defaults={"task": TASK, "crontab": crontab, "enabled": True}
    )


def remove_schedule(apps, schema_editor):
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    PeriodicTask.objects.filter(name=NAME).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("t4site", "0001_beat_schedule"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]
    operations = [migrations.RunPython(create_schedule, remove_schedule)]
