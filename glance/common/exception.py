"""The one exception hierarchy of the service.

Each class carries the HTTP status it maps to (``code``); only
``glance.common.wsgi.Resource`` turns them into responses. Nothing here
imports webob.
"""
from glance.i18n import _


class GlanceException(Exception):
    """Base of our exceptions; ``message`` is a %-format of the kwargs."""

    message = _("An unknown exception occurred")
    code = 500
    # extra response headers, e.g. {'Allow': 'GET'}
    headers = None
    # How the error page shows the message, as Glance shows its errors:
    # "message" alone, "after" webob's own sentence for the status
    # ("Access was denied to this resource. <message>"), or "status":
    # webob's sentence only (the message is for the log).
    shown = "message"

    def __init__(self, message=None, **kwargs):
        self.kwargs = kwargs
        if not message:
            try:
                message = self.message % kwargs
            except (KeyError, TypeError, ValueError):
                message = self.message
        self.msg = str(message)
        super().__init__(self.msg)

    def __str__(self):
        return self.msg


class BadRequest(GlanceException):
    message = _("Bad request")
    code = 400


class Invalid(BadRequest):
    message = _("Data supplied was not valid.")


class InvalidContentType(BadRequest):
    message = _("Invalid content type %(content_type)s")
    code = 415
    shown = "after"


class InvalidSortKey(Invalid):
    message = _("Sort key supplied was not valid.")


class InvalidSortDir(Invalid):
    message = _("Sort direction supplied was not valid.")


class InvalidFilterRangeValue(Invalid):
    message = _("Unable to filter using the specified range.")


class InvalidFilterOperatorValue(Invalid):
    message = _("Unable to filter using the specified operator.")


class InvalidParameterValue(Invalid):
    message = _("Invalid value '%(value)s' for parameter '%(param)s': "
                "%(extra_msg)s")


class InvalidImageStatusTransition(Invalid):
    message = _("Image status transition from %(cur_status)s to "
                "%(new_status)s is not allowed")
    code = 409


class SchemaLoadError(GlanceException):
    message = _("Unable to load schema: %(reason)s")


class Forbidden(GlanceException):
    message = _("You are not authorized to complete %(action)s action.")
    code = 403


class AccessDenied(Forbidden):
    """A 403 shown after webob's "Access was denied to this resource."."""
    shown = "after"


class ProtectedImageDelete(Forbidden):
    message = _("Image %(image_id)s is protected and cannot be deleted.")


class ReservedProperty(Forbidden):
    message = _("Attribute '%(property)s' is reserved.")


class ReservedPropertyOnCreate(ReservedProperty):
    shown = "after"


class NotFound(GlanceException):
    message = _("An object with the specified identifier was not found.")
    code = 404


class ResourceNotFound(NotFound):
    """A 404 shown as webob's "The resource could not be found."."""
    shown = "status"


class ImageNotFound(NotFound):
    message = _("No image found with ID %(image_id)s")


class MemberNotFound(NotFound):
    message = _("%(member_id)s not found in the member list of the image "
                "%(image_id)s.")


class TaskNotFound(NotFound):
    message = _("Task with the given id %(task_id)s was not found")


class Conflict(GlanceException):
    message = _("There was a conflict when trying to complete your "
                "request.")
    code = 409


class Duplicate(Conflict):
    message = _("An object with the same identifier already exists.")


class PropertyNotFound(Conflict):
    message = _("Property %(name)s does not exist.")
    shown = "after"


class Gone(GlanceException):
    message = _("The requested resource is no longer available.")
    code = 410


class RequestEntityTooLarge(GlanceException):
    message = _("The request body is larger than the limit of %(limit)s "
                "bytes.")
    code = 413


class LimitExceeded(GlanceException):
    message = _("The request returned a 413 Request Entity Too Large. This "
                "generally means that rate limiting or a quota threshold "
                "was breached.")
    code = 413


class ImagePropertyLimitExceeded(LimitExceeded):
    message = _("The limit has been exceeded on the number of allowed image "
                "properties. Attempted: %(attempted)s, Maximum: "
                "%(maximum)s")


class ImageTagLimitExceeded(LimitExceeded):
    message = _("The limit has been exceeded on the number of allowed image "
                "tags. Attempted: %(attempted)s, Maximum: %(maximum)s")


class ImageMemberLimitExceeded(LimitExceeded):
    message = _("The limit has been exceeded on the number of allowed image "
                "members for this image. Attempted: %(attempted)s, "
                "Maximum: %(maximum)s")


class ImageLocationLimitExceeded(LimitExceeded):
    message = _("The limit has been exceeded on the number of allowed image "
                "locations. Attempted: %(attempted)s, Maximum: "
                "%(maximum)s")


class StorageQuotaFull(LimitExceeded):
    message = _("The size of the data %(image_size)s will exceed the limit. "
                "%(remaining)s bytes remaining.")


class ImageSizeLimitExceeded(LimitExceeded):
    message = _("The provided image is too large.")


class RequestedRangeNotSatisfiable(GlanceException):
    message = _("The requested range is not satisfiable.")
    code = 416
    shown = "after"


class ServiceUnavailable(GlanceException):
    message = _("The request returned 503 Service Unavailable. This "
                "generally occurs on service overload or other transient "
                "outage.")
    code = 503


class ServerError(GlanceException):
    message = _("The request returned 500 Internal Server Error.")


class InvalidConfiguration(GlanceException):
    message = _("Invalid configuration: %(reason)s")


class InvalidObject(Invalid):
    message = _("Provided object does not match schema '%(schema)s': "
                "%(reason)s")


class InvalidPropertyProtectionConfiguration(InvalidConfiguration):
    message = _("Invalid configuration in property protection file: "
                "%(reason)s")


# --- image data and stores (raised by glance.store) ---

class InvalidImageData(Invalid):
    message = _("The image data was refused: %(reason)s")
    code = 415   # as Glance answers a refused upload
    shown = "after"


class IncompleteImageData(BadRequest):
    message = _("The request body ended after %(received)d of the "
                "%(expected)d bytes announced by Content-Length.")


class UploadInterrupted(BadRequest):
    message = _("The image data stream broke after %(received)d bytes: "
                "%(reason)s")


class StorageFull(LimitExceeded):
    message = _("Image storage media is full: %(reason)s")


class StorageWriteDenied(ServiceUnavailable):
    message = _("Insufficient permissions on image storage media: "
                "%(reason)s")


class StoreAddDisabled(Gone):
    message = _("Error in store configuration. Adding images to store is "
                "disabled.")


class UnknownStore(Invalid):
    message = _("Store for identifier %(store_id)s not found")


class DataNotFound(NotFound):
    message = _("No image data at %(url)s")


class StoreUnavailable(ServiceUnavailable):
    message = _("The store holding the image data is unavailable: "
                "%(reason)s")


class UploadTakenOver(Conflict):
    message = _("The upload of image %(image_id)s stalled and was taken "
                "over by a later upload attempt.")
