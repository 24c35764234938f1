"""A nurse whose member posts still show her display name keeps it public, and so taken."""

from django.conf import settings
from django.db import migrations
from django.db.models import Exists, OuterRef

from accounts.validators import display_name_skeleton


def member_posts_keep_nurses_names_public(apps, schema_editor):
    """Stop, naming them, if a member has since taken a look-alike of such a nurse's name.

    Until now a nurse's name left the members' namespace however it was shown, so a member
    could sign up under it. Which of the two is renamed is not this migration's call: an
    admin renames one of each pair, then the migration runs.
    """
    User = apps.get_model(settings.AUTH_USER_MODEL)
    Post = apps.get_model("forum", "Post")
    member_posts = Post.objects.filter(author=OuterRef("pk"), author_role="member")
    shown = User.objects.filter(Exists(member_posts), role="nurse", display_name_public=False)
    public = {
        display_name_skeleton(name): name
        for name in User.objects.filter(display_name_public=True).values_list(
            "display_name", flat=True
        )
    }
    clashes = []
    for name in shown.order_by("pk").values_list("display_name", flat=True):
        skeleton = display_name_skeleton(name)
        if skeleton in public:
            clashes.append(f"{name!r} / {public[skeleton]!r}")
        public.setdefault(skeleton, name)
    if clashes:
        raise RuntimeError(
            "These nurses' names show on their member posts and look like another's; "
            "rename one of each pair first: " + ", ".join(clashes)
        )
    shown.update(display_name_public=True)


class Migration(migrations.Migration):
    dependencies = [
        ("forum", "0008_post_revisions"),
        ("accounts", "0006_nurse_names_public_while_member_posts_show_them"),
    ]

    operations = [
        migrations.RunPython(member_posts_keep_nurses_names_public, migrations.RunPython.noop),
    ]
