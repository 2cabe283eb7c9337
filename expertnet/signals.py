"""Keep Expert.theme_mask in step with Expert.themes, whichever side changes them."""

from expertnet.models import Expert
from portal import theme_masks


def connect() -> None:
    theme_masks.keep_in_step(Expert)
