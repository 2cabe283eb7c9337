from modeltranslation.translator import TranslationOptions, register

from casestudies.models import CaseAttachment, CaseFigure, CaseImage, CaseLink, CaseStudy, Scheme


@register(CaseStudy)
class CaseStudyTranslation(TranslationOptions):
    fields = (
        "title",
        "subtitle",
        "organisation",
        "keywords",
        "summary",
        "purpose",
        "activities",
        "results",
        "lessons",
        "sustainability",
        "contact_department",
    )


@register(Scheme)
class SchemeTranslation(TranslationOptions):
    fields = ("name",)


@register(CaseFigure)
class CaseFigureTranslation(TranslationOptions):
    fields = ("label", "unit")


@register(CaseLink)
class CaseLinkTranslation(TranslationOptions):
    fields = ("label",)


@register(CaseImage)
class CaseImageTranslation(TranslationOptions):
    fields = ("alt", "caption")


@register(CaseAttachment)
class CaseAttachmentTranslation(TranslationOptions):
    fields = ("title",)
