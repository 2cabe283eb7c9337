"""A model's themes kept again as bits of its ``theme_mask`` (portal.models.theme_bit), so that its
list filters and counts by theme on its own rows. One m2m signal handler serves every such model
(case studies, experts), whichever side changes the themes."""

from django.db.models import F
from django.db.models.signals import m2m_changed

from portal.models import theme_bit


def theme_masks(model, ids) -> dict[int, int]:
    """The theme bits of these objects of ``model``, from their themes."""
    owner = model.themes.field.m2m_field_name() + "_id"
    masks = dict.fromkeys(ids, 0)
    for pk, theme_id in model.themes.through.objects.filter(**{f"{owner}__in": list(masks)}).values_list(
        owner, "theme_id"
    ):
        masks[pk] |= theme_bit(theme_id)
    return masks


def keep_in_step(model, *, then=None) -> None:
    """Update ``theme_mask`` after every change of ``model.themes``; call ``then()`` after each."""

    def changed(action, instance, reverse, pk_set, **kwargs) -> None:
        if action not in ("post_add", "post_remove", "post_clear"):
            return
        if not reverse:  # obj.themes.add(…)
            ids = [instance.pk]
        elif action == "post_clear":  # theme.<objects>.clear(): those that had its bit
            bit = theme_bit(instance.pk)
            ids = list(
                model.objects.alias(bit=F("theme_mask").bitand(bit)).filter(bit=bit).values_list("pk", flat=True)
            )
        else:  # theme.<objects>.add(…)
            ids = list(pk_set or ())
        for pk, mask in theme_masks(model, ids).items():
            model.objects.filter(pk=pk).update(theme_mask=mask)
        if then:
            then()

    m2m_changed.connect(
        changed, sender=model.themes.through, weak=False, dispatch_uid=f"theme_mask:{model._meta.label}"
    )
