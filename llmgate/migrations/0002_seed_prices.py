from decimal import Decimal

from django.db import migrations

# The seed's price table (USD per 1K tokens). Later changes are made in the admin.
SEED_PRICES = [
    ("gpt-4o", Decimal("0.03"), Decimal("0.06")),
    ("gpt-4o-mini", Decimal("0.005"), Decimal("0.01")),
    ("gpt-4", Decimal("0.03"), Decimal("0.06")),
]


def seed(apps, schema_editor):
    ModelPrice = apps.get_model("llmgate", "ModelPrice")
    for model, prompt, completion in SEED_PRICES:
        # Never overwrite a price an admin already set.
        ModelPrice.objects.get_or_create(
            model=model, defaults={"prompt_per_1k": prompt, "completion_per_1k": completion}
        )


def unseed(apps, schema_editor):
    ModelPrice = apps.get_model("llmgate", "ModelPrice")
    for model, prompt, completion in SEED_PRICES:
        ModelPrice.objects.filter(
            model=model, prompt_per_1k=prompt, completion_per_1k=completion
        ).delete()


class Migration(migrations.Migration):
    dependencies = [("llmgate", "0001_initial")]

    operations = [migrations.RunPython(seed, unseed)]
