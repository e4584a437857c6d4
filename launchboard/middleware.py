"""Security headers Django 5.2 does not set itself."""

from django.conf import settings

CSP = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        # plotly.js sets inline styles on the SVG it draws; the page's role rules are inline too
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data: blob:",
        "font-src 'self' data:",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)


PERMISSIONS = "camera=(), microphone=(), geolocation=()"


class SecurityHeaders:
    """First in the chain, so that what answers before the views (static files, the HTTPS
    redirect, a CSRF refusal) carries the same headers as a page. A response made for a
    signed-in person is ``private, no-store`` unless its view said otherwise."""

    def __init__(self, get_response):
        self.get_response = get_response
        self.frame_options = settings.X_FRAME_OPTIONS

    def __call__(self, request):
        response = self.get_response(request)
        response.headers.setdefault("Content-Security-Policy", CSP)
        response.headers.setdefault("Permissions-Policy", PERMISSIONS)
        response.headers.setdefault("Cross-Origin-Resource-Policy", "same-origin")
        response.headers.setdefault("X-Frame-Options", self.frame_options)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            response.headers.setdefault("Cache-Control", "private, no-store")
        return response
