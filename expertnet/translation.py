from modeltranslation.translator import TranslationOptions, register

from expertnet.models import Dispatch, Expert, Seminar, SeminarDocument, SeminarSession


@register(Expert)
class ExpertTranslation(TranslationOptions):
    fields = ("name", "affiliation", "job_title", "registered_field", "profile", "photo_alt")


@register(Dispatch)
class DispatchTranslation(TranslationOptions):
    fields = ("summary",)


@register(Seminar)
class SeminarTranslation(TranslationOptions):
    fields = ("title", "venue", "summary", "application")


@register(SeminarSession)
class SeminarSessionTranslation(TranslationOptions):
    fields = ("title", "other_speakers")


@register(SeminarDocument)
class SeminarDocumentTranslation(TranslationOptions):
    fields = ("title",)
