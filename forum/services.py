"""Every write to the forum goes through here."""

from django.db import transaction

from forum.models import Category


@transaction.atomic
def category_ensure(
    *, slug: str, name: str, description: str, position: int, nurse_answered: bool
) -> tuple[Category, bool]:
    """Create the category, or bring an existing one with this slug up to date."""
    category = Category(
        slug=slug,
        name=name,
        description=description,
        position=position,
        nurse_answered=nurse_answered,
    )
    category.full_clean(validate_unique=False)
    return Category.objects.update_or_create(
        slug=slug,
        defaults={
            "name": name,
            "description": description,
            "position": position,
            "nurse_answered": nurse_answered,
        },
    )
