from flask_wtf import FlaskForm


class RevokeForm(FlaskForm):
    """Only the CSRF token: the token to revoke is in the URL."""
