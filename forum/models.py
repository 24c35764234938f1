from django.db import models


class Category(models.Model):
    """A board of the forum. In a nurse-answered one, every thread is a question for nurses."""

    slug = models.SlugField(max_length=80, unique=True)
    name = models.CharField(max_length=100)
    description = models.TextField(blank=True)
    position = models.PositiveIntegerField(default=0, help_text="Lower comes first.")
    nurse_answered = models.BooleanField(
        default=False, help_text="Questions here are answered by the nursing team."
    )

    class Meta:
        ordering = ["position", "id"]
        verbose_name_plural = "categories"
        indexes = [models.Index(fields=["position", "id"], name="forum_category_order_idx")]
        # Forum-wide permissions behind the roles (see accounts/roles.py).
        permissions = [
            ("close_thread", "Can close and reopen threads"),
            ("move_thread", "Can move threads between categories"),
            ("moderate_post", "Can edit, hide and restore any post"),
        ]

    def __str__(self) -> str:
        return self.name
