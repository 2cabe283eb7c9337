"""Keep Expert.theme_mask in step with Expert.themes, whichever side changes them."""

from django.db.models import F
from django.db.models.signals import m2m_changed

from expertnet.models import Expert
from portal.models import theme_bit


def theme_masks(expert_ids) -> dict[int, int]:
    masks = dict.fromkeys(expert_ids, 0)
    through = Expert.themes.through.objects.filter(expert_id__in=list(masks))
    for expert_id, theme_id in through.values_list("expert_id", "theme_id"):
        masks[expert_id] |= theme_bit(theme_id)
    return masks


def _themes_changed(action, instance, reverse, pk_set, **kwargs) -> None:
    if action not in ("post_add", "post_remove", "post_clear"):
        return
    if not reverse:
        ids = [instance.pk]
    elif action == "post_clear":
        bit = theme_bit(instance.pk)
        ids = list(Expert.objects.alias(bit=F("theme_mask").bitand(bit)).filter(bit=bit).values_list("pk", flat=True))
    else:
        ids = list(pk_set or ())
    for pk, mask in theme_masks(ids).items():
        Expert.objects.filter(pk=pk).update(theme_mask=mask)


def connect() -> None:
    m2m_changed.connect(_themes_changed, sender=Expert.themes.through, dispatch_uid="expertnet.theme_mask")
