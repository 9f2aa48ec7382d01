"""The Clues tab's "Text in the photo" box: type the writing seen on a sign, see which
countries write it, and put them in the Keep only box with one click.

A suggestion, never a silent clue: nothing narrows a run until the person presses "Use
as Keep only", and the countries stay editable there.  The reading itself happens in
``services.clues.text_clue`` (the engine's text clue); this box only shows it.
"""

from __future__ import annotations

from typing import Optional

from qgis.PyQt.QtCore import pyqtSignal
from qgis.PyQt.QtWidgets import (QComboBox, QGroupBox, QLabel, QLineEdit, QPushButton,
                                 QVBoxLayout, QWidget)

from ..services.clues.text_clue import TextSuggestion, language_choices, suggest_countries
from ..services.i18n import tr


class LanguageBox(QComboBox):
    """The language choice, filled the first time it is opened or searched: the list
    comes from the engine's CLDR tables (babel, shapely through the engine's package),
    which QGIS must not import at start-up (tests/test_plugin_load.py), and importing
    shapely before the run service deep-binds it mixes GEOS libraries (services/native_libs)."""

    def __init__(self, parent: Optional[QWidget] = None):
        super().__init__(parent)
        self.addItem(tr("Language: from the letters"), "")
        self._filled = False

    def fill(self) -> None:
        if self._filled:
            return
        choices = language_choices()
        if not choices:  # the engine's packages are not installed yet: try again later
            return
        self._filled = True
        for code, name in choices:
            self.addItem(f"{name} ({code})", code)

    def showPopup(self) -> None:  # noqa: N802 - Qt's name
        self.fill()
        super().showPopup()

    def findData(self, *args, **kwargs) -> int:  # noqa: N802 - Qt's name
        self.fill()
        return super().findData(*args, **kwargs)


class TextClueBox(QGroupBox):
    use_countries = pyqtSignal(tuple)  # ISO alpha-2 codes to tick in Keep only

    def __init__(self, parent: Optional[QWidget] = None):
        super().__init__(tr("Text in the photo"), parent)
        self.setObjectName("geodecoderTextClueGroup")
        self.suggestion: Optional[TextSuggestion] = None  # shown now
        self.applied: Optional[TextSuggestion] = None  # put in Keep only (provenance)
        self.text = QLineEdit()
        self.text.setObjectName("geodecoderTextClue")
        self.text.setPlaceholderText(tr("As written, e.g. Apteka Świeża"))
        self.text.setToolTip(tr("Type or paste the text in its own script; the letters "
                                "say which languages (and countries) write it."))
        self.text.textChanged.connect(self._text_changed)
        self.text.returnPressed.connect(self.suggest)
        self.language = LanguageBox()
        self.language.setObjectName("geodecoderTextClueLanguage")
        self.language.setSizeAdjustPolicy(QComboBox.AdjustToMinimumContentsLengthWithIcon)
        self.language.setMinimumContentsLength(6)
        self.language.currentIndexChanged.connect(lambda _i: self._text_changed())
        self.suggest_button = QPushButton(tr("Suggest countries"))
        self.suggest_button.setObjectName("geodecoderSuggestCountries")
        self.suggest_button.clicked.connect(self.suggest)
        self.result = QLabel()
        self.result.setObjectName("geodecoderTextClueResult")
        self.result.setWordWrap(True)
        self.use_button = QPushButton(tr("Use as Keep only"))
        self.use_button.setObjectName("geodecoderUseTextClue")
        self.use_button.setEnabled(False)
        self.use_button.clicked.connect(self.use)
        layout = QVBoxLayout(self)
        for widget in (self.text, self.language, self.suggest_button, self.result,
                       self.use_button):
            layout.addWidget(widget)

    def languages(self) -> tuple[str, ...]:
        code = self.language.currentData()
        return (str(code),) if code else ()

    def suggest(self) -> Optional[TextSuggestion]:
        """Read the text and show what it says; the suggestion, or None on an error."""
        self.suggestion = None
        self.use_button.setEnabled(False)
        if not self.text.text().strip():
            self.result.setText(tr("Type the text seen in the photo first."))
            return None
        try:
            found = suggest_countries(self.text.text(), self.languages())
        except ValueError as exc:
            self.result.setText(str(exc))
            return None
        self.suggestion = found
        self.result.setText(found.line + (f"\n{found.details}" if found.details else ""))
        self.use_button.setEnabled(found.usable)
        return found

    def use(self) -> None:
        """Put the suggested countries in Keep only; the text is remembered with them."""
        if self.suggestion is None or not self.suggestion.usable:
            return
        self.applied = self.suggestion
        self.use_countries.emit(self.suggestion.countries)

    def _text_changed(self, *_args) -> None:
        """A new text (or language) is a new question: the shown answer and the recorded
        provenance no longer hold (the ticked countries stay as a plain clue)."""
        self.suggestion = None
        self.applied = None
        self.use_button.setEnabled(False)
        self.result.clear()

    def clear(self) -> None:
        self.text.clear()
        self.language.setCurrentIndex(0)
        self._text_changed()
