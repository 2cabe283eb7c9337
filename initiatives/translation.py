from modeltranslation.translator import TranslationOptions, register

from initiatives.models import Initiative, InitiativeDocument, InitiativeLink, Meeting


@register(Initiative)
class InitiativeTranslation(TranslationOptions):
    fields = ("title", "short_name", "summary", "body", "office", "contact", "image_alt")


@register(InitiativeLink)
class InitiativeLinkTranslation(TranslationOptions):
    fields = ("label",)


@register(Meeting)
class MeetingTranslation(TranslationOptions):
    fields = ("title", "place", "agenda", "minutes")


@register(InitiativeDocument)
class InitiativeDocumentTranslation(TranslationOptions):
    fields = ("title",)
