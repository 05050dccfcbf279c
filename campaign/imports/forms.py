from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import HiddenField

from campaign.spreadsheets import XLSX_MIMETYPE as XLSX


class UploadForm(FlaskForm):
    # The content is checked, not the name: a renamed .xls or .csv is refused on reading.
    file = FileField(
        _l("Tệp Excel (.xlsx)"),
        validators=[FileRequired(_l("Chọn tệp .xlsx để tải lên."))],
        render_kw={"accept": ".xlsx," + XLSX},
    )


class ConfirmForm(FlaskForm):
    #: The preview the user saw; confirming a different one is refused.
    fingerprint = HiddenField()


class DiscardForm(FlaskForm):
    pass
