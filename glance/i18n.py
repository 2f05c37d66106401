"""Translation markers (oslo.i18n)."""
import oslo_i18n

_translators = oslo_i18n.TranslatorFactory(domain="glance")
_ = _translators.primary
_LW = _translators.log_warning
