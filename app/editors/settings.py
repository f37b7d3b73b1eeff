"""The project Settings tab: auth profiles, mail (SMTP), outgoing HTTP, browser origins (CORS)
and the token secret."""

from __future__ import annotations

import re
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFormLayout,
    QFrame,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QScrollArea,
    QSpinBox,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from app import tree as ops
from app.editors.base import Editor, _card, _label
from app.editors.rows import Column, RowsModel, RowsTable
from nodes import catalogue
from nodes.send_email import valid_address
from runtime.auth import SECRET_ENV
from runtime.cors import problems as cors_problems
from runtime.project import AuthProfile, Settings, new_secret

SECURITY_LABELS = {"none": "None (plain SMTP)", "starttls": "STARTTLS", "tls": "TLS (SMTPS)"}
SECURITY_PORTS = {"none": 25, "starttls": 587, "tls": 465}
LIFETIME_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_LIFETIME = re.compile(r"^(\d+)\s*(s|secs?|seconds?|m|mins?|minutes?|h|hrs?|hours?|d|days?)?$")
LIFETIME_HINT = "write minutes (e.g. 60) or a length like 30m, 1h, 7d"
PRIVATE_HTTP_TIP = (
    "Lets HTTP Request events reach private and link-local addresses (192.168.x.x, 10.x.x.x, "
    "169.254.169.254...).\nWarning: on a server, anyone who can call an endpoint that sends a "
    "request to an address they choose could then read internal services or the cloud "
    "metadata service. Leave it off unless the project must talk to a service on your "
    "network.")


def parse_lifetime(text: str) -> int:
    """A token lifetime typed as minutes (`60`) or with a unit (`30m`, `1h`, `7d`), in seconds."""
    m = _LIFETIME.match(str(text).strip().lower())
    if not m:
        raise ValueError(f'token lifetime "{str(text).strip()}": {LIFETIME_HINT}')
    seconds = int(m.group(1)) * LIFETIME_UNITS[(m.group(2) or "m")[0]]
    if seconds <= 0:
        raise ValueError("token lifetime: it must be longer than 0")
    return seconds


def format_lifetime(seconds: Any) -> str:
    """Seconds as the shortest text `parse_lifetime` reads back (`3600` -> `1h`)."""
    try:
        seconds = int(seconds)
    except (TypeError, ValueError):
        return str(seconds)
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds and seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


class SettingsEditor(Editor):
    """Project-wide settings: who may log in (auth profiles), mail, outgoing HTTP, secret."""

    section = "settings"

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        heading = QLabel("Project settings")
        heading.setProperty("role", "heading")

        # -- auth profiles ------------------------------------------------------------------
        models = lambda _p: [m.name for m in self.document.project.models]
        columns = [
            Column("Name", lambda p: p.name, self._rename_profile, width=120,
                   tooltip=lambda p: "Endpoints choose a profile by this name"),
            Column("Users model", lambda p: p.model, lambda p, v: self._set_profile(p, "model", v),
                   "choice", models, width=120,
                   tooltip=lambda p: "The data model holding the users who log in"),
            Column("Identifier field", lambda p: p.identifier,
                   lambda p, v: self._set_profile(p, "identifier", v), "choice",
                   self._model_fields, width=120,
                   tooltip=lambda p: "The field a user logs in with, e.g. email"),
            Column("Password field", lambda p: p.password,
                   lambda p, v: self._set_profile(p, "password", v), "choice",
                   self._model_fields, width=120,
                   tooltip=lambda p: "The field holding the password hash (Hash Password)"),
            Column("Token lifetime", lambda p: format_lifetime(p.lifetime), self._set_lifetime,
                   width=110, tooltip=lambda p: f"How long a login lasts: {LIFETIME_HINT}"),
            Column("Rule (optional)", lambda p: (p.rule or "").removeprefix("="), self._set_rule,
                   stretch=True,
                   tooltip=lambda p: 'Who passes, e.g. user.role == "admin"; others get 403'),
        ]
        self.profiles = RowsTable(
            "Auth profiles",
            RowsModel(lambda: self.settings.auth_profiles if self.settings else [], columns,
                      problem=self._profile_problem),
            lambda: self.add_profile(),
            lambda p: ops.remove_row(self.document, self.settings.auth_profiles, p,
                                     f"Remove auth profile {p.name}"),
            lambda p, step: ops.move_row(self.document, self.settings.auth_profiles, p, step,
                                         f"Move auth profile {p.name}"),
            self.theme)
        self.profiles.view.setMinimumHeight(150)
        self.profile_problems = QLabel()
        self.profile_problems.setProperty("role", "problem")
        self.profile_problems.setWordWrap(True)
        self.profile_problems.setTextInteractionFlags(
            Qt.TextInteractionFlag.TextSelectableByMouse)
        self.profile_problems.hide()
        profiles_hint = _label(
            "An endpoint with an auth profile answers only requests carrying a valid login "
            "token (Authorization: Bearer TOKEN) from a Login event of that profile. Token "
            "lifetime: minutes, or 30m, 1h, 7d. The rule sees the logged-in record as user.")
        profiles_hint.setWordWrap(True)

        # -- mail ---------------------------------------------------------------------------
        self.mail_host = QLineEdit(placeholderText="smtp.example.com")
        self.mail_host.setObjectName("mail_host")
        self.mail_host.textEdited.connect(lambda v: self._set_mail("host", v.strip(), "host"))
        self.mail_port = QSpinBox()
        self.mail_port.setRange(1, 65535)
        self.mail_port.setFixedWidth(self.mail_port.fontMetrics().horizontalAdvance("000000")
                                     + 40)
        self.mail_port.valueChanged.connect(lambda v: self._set_mail("port", v, "port"))
        self.mail_security = QComboBox()
        for value, label in SECURITY_LABELS.items():
            self.mail_security.addItem(label, value)
        self.mail_security.setToolTip("STARTTLS (usually port 587) upgrades a plain connection; "
                                      "TLS (usually port 465) is encrypted from the start")
        self.mail_security.activated.connect(lambda _i: self._set_security())
        self.mail_username = QLineEdit(placeholderText="optional")
        self.mail_username.setObjectName("mail_username")
        self.mail_username.textEdited.connect(lambda v: self._set_mail("username", v, "username"))
        self.mail_password = QLineEdit(placeholderText="optional")
        self.mail_password.setObjectName("mail_password")
        self.mail_password.setEchoMode(QLineEdit.EchoMode.Password)
        self.mail_password.textEdited.connect(lambda v: self._set_mail("password", v, "password"))
        self.show_password = QToolButton(text="Show")
        self.show_password.setCheckable(True)
        self.show_password.setToolTip("Show or hide the SMTP password")
        self.show_password.toggled.connect(self.reveal_password)
        self.mail_sender = QLineEdit(placeholderText="Shop <shop@example.com>")
        self.mail_sender.setObjectName("mail_sender")
        self.mail_sender.textEdited.connect(lambda v: self._set_mail("sender", v.strip(), "sender"))
        self.sender_problem = QLabel()
        self.sender_problem.setProperty("role", "problem")
        self.sender_problem.hide()

        host_port = QHBoxLayout()
        host_port.setSpacing(6)
        host_port.addWidget(self.mail_host, 1)
        host_port.addWidget(_label("Port"))
        host_port.addWidget(self.mail_port)
        password = QHBoxLayout()
        password.setSpacing(6)
        password.addWidget(self.mail_password, 1)
        password.addWidget(self.show_password)
        sender = QVBoxLayout()
        sender.setSpacing(4)
        sender.addWidget(self.mail_sender)
        sender.addWidget(self.sender_problem)
        mail_form = _form()
        mail_form.addRow(_label("Host"), host_port)
        mail_form.addRow(_label("Security"), self.mail_security)
        mail_form.addRow(_label("Username"), self.mail_username)
        mail_form.addRow(_label("Password"), password)
        mail_form.addRow(_label("Sender"), sender)
        mail_note = _label("In the editor, mail goes to the Outbox; `actiongraph serve` sends "
                           "through this server.")
        mail_note.setTextFormat(Qt.TextFormat.MarkdownText)
        mail_note.setWordWrap(True)

        # -- outgoing HTTP ------------------------------------------------------------------
        self.allow_private = QCheckBox("Allow requests to private/link-local addresses")
        self.allow_private.setToolTip(PRIVATE_HTTP_TIP)
        self.allow_private.toggled.connect(self._set_allow_private)
        http_note = _label("Off by default: HTTP Request events may only reach public "
                           "addresses, so a request cannot be steered at your own network.")
        http_note.setWordWrap(True)

        # -- browser origins (CORS) ---------------------------------------------------------
        self.cors_origins = QLineEdit(placeholderText="https://app.example.com, "
                                                      "http://localhost:3000")
        self.cors_origins.setObjectName("cors_origins")
        self.cors_origins.textEdited.connect(self._set_cors_origins)
        self.cors_credentials = QCheckBox("Allow credentials (cookies, HTTP authentication)")
        self.cors_credentials.toggled.connect(self._set_cors_credentials)
        self.cors_problem = QLabel()
        self.cors_problem.setProperty("role", "problem")
        self.cors_problem.setWordWrap(True)
        self.cors_problem.hide()
        cors_form = _form()
        cors_form.addRow(_label("Allowed origins"), self.cors_origins)
        cors_note = _label("Web pages on these origins may call the API (separate them with "
                           "commas; * for any, not with credentials). The live server also "
                           "allows http://localhost and http://127.0.0.1 on any port.")
        cors_note.setWordWrap(True)

        # -- token secret -------------------------------------------------------------------
        self.secret_state = QLabel()
        self.secret_state.setObjectName("secret_state")
        self.generate_secret = QPushButton("Generate new secret")
        self.generate_secret.setToolTip("Replace the secret that signs login tokens: every "
                                        "token issued so far stops working")
        self.generate_secret.clicked.connect(lambda: self.new_secret())
        secret_row = QHBoxLayout()
        secret_row.setSpacing(10)
        secret_row.addWidget(self.secret_state, 1)
        secret_row.addWidget(self.generate_secret)
        secret_note = _label(
            f"Login tokens are signed with this secret; it is saved in the project file and "
            f"never shown. On a server, the environment variable {SECRET_ENV} overrides it "
            f"(keep the real one out of git that way).")
        secret_note.setWordWrap(True)

        layout = QVBoxLayout()
        layout.setContentsMargins(16, 14, 16, 14)
        layout.setSpacing(12)
        layout.addWidget(heading)
        layout.addWidget(_card(self.profiles, self.profile_problems, profiles_hint))
        layout.addWidget(_card(_heading("Mail (SMTP)"), _holder(mail_form), mail_note))
        layout.addWidget(_card(_heading("Outgoing HTTP"), self.allow_private, http_note))
        layout.addWidget(_card(_heading("Browser origins (CORS)"), _holder(cors_form),
                               self.cors_credentials, self.cors_problem, cors_note))
        layout.addWidget(_card(_heading("Token secret"), _holder(secret_row), secret_note))
        layout.addStretch(1)
        self.page = QWidget()
        self.page.setProperty("role", "form")
        self.page.setLayout(layout)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setWidget(self.page)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.addWidget(scroll)
        self.refresh()

    # -- showing ------------------------------------------------------------------------------
    @property
    def settings(self) -> Settings | None:
        """The project's settings as the project holds them now."""
        return self.item

    def title(self) -> str:
        return "Settings"

    def restyle(self) -> None:
        self.profiles.restyle(self.theme)

    def refresh(self) -> None:
        s = self.settings
        if s is None:
            return
        self._updating = True
        try:
            self.profiles.model.refresh()
            problems = self._profile_problems()
            self.profile_problems.setText("\n".join(problems))
            self.profile_problems.setVisible(bool(problems))
            mail = s.mail
            self._set_text(self.mail_host, mail.host or "")
            self.mail_port.setValue(int(mail.port or 25))
            self.mail_security.setCurrentIndex(max(self.mail_security.findData(mail.security), 0))
            self._set_text(self.mail_username, mail.username or "")
            self._set_text(self.mail_password, mail.password or "")
            self._set_text(self.mail_sender, mail.sender or "")
            bad_sender = bool(mail.sender) and not valid_address(mail.sender)
            self.sender_problem.setText(f'sender "{mail.sender}" is not a mail address'
                                        if bad_sender else "")
            self.sender_problem.setVisible(bad_sender)
            self.allow_private.setChecked(bool(s.allow_private_http))
            if _origins(self.cors_origins.text()) != s.cors.origins:  # keep a typed comma
                self._set_text(self.cors_origins, ", ".join(s.cors.origins))
            self.cors_credentials.setChecked(s.cors.credentials)
            problems = [p.message for p in cors_problems(s.cors)]
            self.cors_problem.setText("\n".join(problems))
            self.cors_problem.setVisible(bool(problems))
            self.secret_state.setText("Set (generated for this project)" if s.secret else
                                      f"Not set: tokens last until the server stops, unless "
                                      f"{SECRET_ENV} is set")
        finally:
            self._updating = False

    def reveal_password(self, shown: bool) -> None:
        """Show the SMTP password as text, or mask it again."""
        self.mail_password.setEchoMode(QLineEdit.EchoMode.Normal if shown
                                       else QLineEdit.EchoMode.Password)
        self.show_password.setText("Hide" if shown else "Show")

    def _model_fields(self, p: AuthProfile) -> list[str]:
        model = self.document.project.model(p.model or "")
        return [f.name for f in model.fields] if model else []

    def _profile_problems(self, p: AuthProfile | None = None) -> list[str]:
        """The compiler's problems of one auth profile (or of all), in words."""
        out = []
        for problem in self.document.problems():
            m = re.match(r'^settings\.auth_profiles\["((?:[^"\\]|\\.)*)"\]\.?(.*)$',
                         problem.where or "")
            if not m or (p is not None and m.group(1) != p.name):
                continue
            place = m.group(2).replace("identifier", "identifier field").replace(
                "password", "password field") or "profile"
            out.append(f'Auth profile "{m.group(1)}", {place}: {problem.message}')
        return out

    def _profile_problem(self, p: AuthProfile) -> str:
        if not p.name.strip():
            return "an auth profile needs a name"
        return "\n".join(self._profile_problems(p))

    # -- editing ------------------------------------------------------------------------------
    def add_profile(self, name: str | None = None) -> AuthProfile:
        """Add an auth profile on the users-like model, guessing its login fields."""
        s = self.settings
        taken = {p.name for p in s.auth_profiles}
        if name is None:
            name, n = "users", 2
            while name in taken:
                name, n = f"users{n}", n + 1
        models = self.document.project.models
        model = next((m for m in models if m.name.lower() in ("users", "user", "accounts")),
                     models[0] if models else None)
        fields = [f.name for f in model.fields] if model else []
        identifier = next((f for f in ("email", "username", "login", "name") if f in fields),
                          fields[0] if fields else "email")
        password = next((f for f in fields if "password" in f.lower()), "password")
        profile = AuthProfile(name=name, model=model.name if model else "Users",
                              identifier=identifier, password=password)
        ops.insert_row(self.document, s.auth_profiles, profile, label=f"Add auth profile {name}")
        self.profiles.select(profile, 0)
        return profile

    def _set_profile(self, p: AuthProfile, attr: str, value: Any, label: str = "") -> None:
        self.document.set_attr(p, attr, value, label or f"Change {attr} of auth profile {p.name}")

    def _rename_profile(self, p: AuthProfile, name: str) -> None:
        """Rename a profile and the endpoints and Login events that name it (one undo step)."""
        old, name = p.name, str(name).strip()
        if not name or name == old:
            return
        project = self.document.project
        kinds = catalogue()
        self.document.undo.beginMacro(f"Rename auth profile {old} to {name}")
        try:
            self.document.set_attr(p, "name", name)
            for e in project.endpoints:
                if e.auth == old:
                    self.document.set_attr(e, "auth", name)
            for a in project.actions:
                for event in a.events.values():
                    kind = kinds.get(event.kind)
                    keys = [x.name for x in kind.settings if x.kind == "auth_profile"] \
                        if kind else []
                    if any(event.settings.get(k) == old for k in keys):
                        settings = dict(event.settings)
                        settings.update({k: name for k in keys if settings.get(k) == old})
                        self.document.set_attr(event, "settings", settings)
        finally:
            self.document.undo.endMacro()

    def _set_lifetime(self, p: AuthProfile, text: str) -> None:
        try:
            seconds = parse_lifetime(text)
        except ValueError as e:
            self.profile_problems.setText(f'Auth profile "{p.name}": {e}')
            self.profile_problems.show()
            return
        self._set_profile(p, "lifetime", seconds, f"Set token lifetime of {p.name} to "
                                                  f"{format_lifetime(seconds)}")

    def _set_rule(self, p: AuthProfile, text: str) -> None:
        self._set_profile(p, "rule", str(text).strip() or None, f"Change rule of {p.name}")

    def _set_mail(self, attr: str, value: Any, what: str) -> None:
        s = self.settings
        if not self._updating and s is not None:
            self.document.set_attr(s.mail, attr, value, f"Edit mail {what}", merge=True)

    def _set_security(self) -> None:
        s = self.settings
        if self._updating or s is None:
            return
        security = self.mail_security.currentData()
        if security == s.mail.security:
            return
        self.document.undo.beginMacro(f"Set mail security to {SECURITY_LABELS[security]}")
        self.document.set_attr(s.mail, "security", security)
        # Moving between the usual ports follows the security; a custom port stays.
        if s.mail.port in SECURITY_PORTS.values():
            self.document.set_attr(s.mail, "port", SECURITY_PORTS[security])
        self.document.undo.endMacro()

    def _set_allow_private(self, allowed: bool) -> None:
        s = self.settings
        if not self._updating and s is not None:
            self.document.set_attr(s, "allow_private_http", bool(allowed),
                                   "Allow private HTTP addresses" if allowed
                                   else "Block private HTTP addresses")

    def _set_cors_origins(self, text: str) -> None:
        s = self.settings
        if not self._updating and s is not None:
            self.document.set_attr(s.cors, "origins", _origins(text), "Edit allowed origins",
                                   merge=True)

    def _set_cors_credentials(self, allowed: bool) -> None:
        s = self.settings
        if not self._updating and s is not None:
            self.document.set_attr(s.cors, "credentials", bool(allowed),
                                   "Allow credentials from browsers" if allowed
                                   else "Refuse credentials from browsers")

    def new_secret(self) -> bool:
        """Replace the token secret after the user confirms (it logs everyone out)."""
        s = self.settings
        if s is None or not self.prompts.confirm(
                "Generate new secret",
                "A new secret makes every login token issued so far invalid: everyone who is "
                "logged in has to log in again.\n\nA server with "
                f"{SECRET_ENV} set keeps using that one.", "Generate new secret"):
            return False
        self.document.set_attr(s, "secret", new_secret(), "Generate new token secret")
        return True


def _origins(text: str) -> list[str]:
    """The origins typed in the field: separated by commas or spaces, each once."""
    return list(dict.fromkeys(o for o in re.split(r"[,\s]+", text) if o))


def _form() -> QFormLayout:
    form = QFormLayout()
    form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
    form.setLabelAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
    form.setContentsMargins(0, 0, 0, 0)
    form.setHorizontalSpacing(10)
    form.setVerticalSpacing(8)
    return form


def _holder(layout) -> QWidget:
    widget = QWidget()
    layout.setContentsMargins(0, 0, 0, 0)
    widget.setLayout(layout)
    return widget


def _heading(text: str) -> QLabel:
    label = QLabel(text)
    label.setProperty("role", "heading")
    return label
