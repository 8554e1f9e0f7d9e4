from django.db import migrations
from django.utils import timezone


def seed(apps, schema_editor):
    from guidance.playbooks_seed import PLAYBOOKS

    playbook_model = apps.get_model("guidance", "Playbook")
    version_model = apps.get_model("guidance", "PlaybookVersion")
    now = timezone.now()
    for slug, title, category, body in PLAYBOOKS:
        playbook, created = playbook_model.objects.get_or_create(
            slug=slug, defaults={"title": title, "category": category, "body": body,
                                 "updated_at": now})
        if created:
            version_model.objects.create(playbook=playbook, number=1, title=title, body=body,
                                         created_at=now)


class Migration(migrations.Migration):
    dependencies = [("guidance", "0001_playbooks_guidance_questions")]
    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
