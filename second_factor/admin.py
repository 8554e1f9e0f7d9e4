"""Django's admin lists no second-factor device: a device's key and the recovery codes are
shown once, to their owner, in the console's own pages. `manage.py second_factor_reset`
removes a person's devices when they have lost them."""

from django.contrib import admin
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice

for model in (TOTPDevice, StaticDevice):
    if admin.site.is_registered(model):
        admin.site.unregister(model)
