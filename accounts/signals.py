"""A password change revokes the user's API tokens, whichever way the password was changed: the
admin's password form, ``manage.py changepassword``, a password form in code, ``set_password`` then
``save()`` in a shell. (A queryset ``update(password=...)`` sends no signal and is not covered.)"""

from __future__ import annotations

from django.conf import settings
from django.db.models.signals import post_save, pre_save
from django.dispatch import receiver
from rest_framework.authtoken.models import Token


@receiver(pre_save, sender=settings.AUTH_USER_MODEL, dispatch_uid="accounts.note_password_change")
def note_password_change(sender, instance, raw=False, update_fields=None, **kwargs):
    instance._revoke_tokens = False
    if raw or instance.pk is None:
        return
    if update_fields is not None and "password" not in update_fields:
        return  # e.g. last_login at every sign-in
    if update_fields is not None and set(update_fields) == {"password"} and instance._password is None:
        return  # check_password upgrading the hash of the same password (it clears _password first)
    stored = sender.objects.filter(pk=instance.pk).values_list("password", flat=True).first()
    instance._revoke_tokens = stored is not None and stored != instance.password


@receiver(post_save, sender=settings.AUTH_USER_MODEL, dispatch_uid="accounts.revoke_tokens")
def revoke_tokens(sender, instance, created=False, **kwargs):
    if getattr(instance, "_revoke_tokens", False):
        Token.objects.filter(user=instance).delete()
        instance._revoke_tokens = False
