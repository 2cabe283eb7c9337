"""The admin of 相談申込: staff work the requests here (imported by expertnet/admin.py).

Requests come only from the public form: no adding here. What the municipality sent is read-only;
staff change the status, the assignee and their note, and every change of status or assignee is
written to the history (RequestEvent) with the user who made it.
"""

from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.utils import timezone, translation
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from expertnet.consultations import send_confirmation, send_staff_notice
from expertnet.models import ConsultationRequest, RequestEvent, RequestStatus

PERSONAL_FIELDS = ("municipality", "department", "contact_person", "email", "phone", "themes", "message")


class RequestEventInline(admin.TabularInline):
    """The history, read-only: written by the form, this admin and the retention command."""

    model = RequestEvent
    fields = ("at", "user", "description")
    readonly_fields = fields
    extra = 0
    can_delete = False
    verbose_name = _("対応履歴")
    verbose_name_plural = _("対応履歴")

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("user")


def user_label(user) -> str:
    if user is None:
        return "なし"
    return user.get_full_name() or user.get_username()


def status_label(value: str) -> str:
    """The Japanese label of a status, for the history (stored text, always Japanese)."""
    if value not in RequestStatus.values:
        return value or "なし"
    with translation.override("ja"):
        return str(RequestStatus(value).label)


@admin.register(ConsultationRequest)
class ConsultationRequestAdmin(admin.ModelAdmin):
    list_display = (
        "reference_display",
        "municipality_display",
        "created_at",
        "status",
        "assignee",
        "confirmation_sent",
        "notice_sent",
    )
    list_display_links = ("reference_display", "municipality_display")
    list_filter = ("status", "assignee", "created_at")
    search_fields = ("municipality__name", "department", "contact_person", "email")
    list_select_related = ("municipality__prefecture", "municipality__parent", "assignee")
    date_hierarchy = "created_at"
    ordering = ("-created_at",)
    list_per_page = 50
    actions = ("resend_mails",)
    inlines = (RequestEventInline,)
    fieldsets = (
        (_("対応"), {"fields": ("reference_display", "status", "assignee", "staff_note")}),
        (
            _("申込みの内容"),
            {"fields": (*PERSONAL_FIELDS, "preferred_experts")},
        ),
        (
            _("記録"),
            {
                "fields": (
                    "created_at",
                    "updated_at",
                    "closed_at",
                    "confirmation_sent_at",
                    "notice_sent_at",
                    "personal_data_erased_at",
                )
            },
        ),
    )
    readonly_fields = (
        "reference_display",
        *PERSONAL_FIELDS,
        "preferred_experts",
        "created_at",
        "updated_at",
        "closed_at",
        "confirmation_sent_at",
        "notice_sent_at",
        "personal_data_erased_at",
    )

    @admin.display(description=_("受付番号"), ordering="pk")
    def reference_display(self, obj):
        return obj.reference

    @admin.display(description=_("市区町村"), ordering="municipality__code")
    def municipality_display(self, obj):
        return f"{obj.municipality.prefecture.name}{obj.municipality.full_name}"

    @admin.display(description=_("受付メール"), boolean=True)
    def confirmation_sent(self, obj):
        return obj.confirmation_sent_at is not None

    @admin.display(description=_("職員への通知"), boolean=True)
    def notice_sent(self, obj):
        return obj.notice_sent_at is not None

    def has_add_permission(self, request):
        return False

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "assignee":
            kwargs["queryset"] = get_user_model().objects.filter(is_staff=True, is_active=True).order_by("username")
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def save_model(self, request, obj, form, change):
        """Writes the history of a change of status or assignee, and keeps closed_at in step."""
        events = []
        if change and "status" in form.changed_data:
            before = form.initial.get("status")
            events.append(f"対応状況を「{status_label(before)}」から「{status_label(obj.status)}」に変更")
            if obj.status == RequestStatus.CLOSED:
                obj.closed_at = timezone.now()
            elif before == RequestStatus.CLOSED:
                obj.closed_at = None
        if change and "assignee" in form.changed_data:
            model = get_user_model()
            before = model.objects.filter(pk=form.initial.get("assignee")).first()
            events.append(f"担当者を「{user_label(before)}」から「{user_label(obj.assignee)}」に変更")
        if change and "staff_note" in form.changed_data:
            events.append("対応メモを更新")
        super().save_model(request, obj, form, change)
        RequestEvent.objects.bulk_create(
            [RequestEvent(request=obj, user=request.user, description=text) for text in events]
        )

    @admin.action(description=_("未送信のメールを再送"), permissions=["change"])
    def resend_mails(self, request, queryset):
        sent = failed = 0
        for consultation in queryset.select_related("municipality__prefecture", "municipality__parent"):
            for what, done, send in (
                ("受付メール", consultation.confirmation_sent_at, send_confirmation),
                ("職員への通知", consultation.notice_sent_at, send_staff_notice),
            ):
                if done or (send is send_confirmation and consultation.personal_data_erased_at):
                    continue
                if send(consultation, request):
                    sent += 1
                    RequestEvent.objects.create(request=consultation, user=request.user, description=f"{what}を再送")
                else:
                    failed += 1
        if sent:
            self.message_user(request, gettext("%(n)s 通のメールを再送しました。") % {"n": sent})
        if failed:
            self.message_user(
                request,
                gettext("%(n)s 通のメールを送れませんでした。メールの設定とログを確かめてください。") % {"n": failed},
                messages.ERROR,
            )
        if not sent and not failed:
            self.message_user(request, gettext("選んだ申込みに、未送信のメールはありません。"), messages.WARNING)
