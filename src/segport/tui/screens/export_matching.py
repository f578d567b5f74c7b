"""The export wizard's data matching (columns → fields) and segments (live counts, cap)."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.widgets import Label, LoadingIndicator, Select, SelectionList, Static
from textual.widgets.selection_list import Selection

from segport.destinations.catalogue import CATALOGUES, FIELD_LABELS
from segport.manage.suggest import suggest_mapping
from segport.sources.base import ColumnInfo
from segport.tui.screens.export_steps import ExportForm, ExportStep

MAX_SAMPLE = 40


def samples_text(column: ColumnInfo | None) -> str:
    """A column's sample values, shortened, for showing beside the field."""
    if column is None:
        return ""
    values = [s.strip() for s in column.samples if s and s.strip()]
    if not values:
        return "no sample values"
    shown = [s if len(s) <= MAX_SAMPLE else s[:MAX_SAMPLE - 1] + "…" for s in values]
    return "e.g. " + ", ".join(shown)


class MappingStep(ExportStep):
    TITLE = "Data matching"

    def __init__(self, form: ExportForm, *, id: str) -> None:
        super().__init__(form, id=id)
        self.built_for: str | None = None

    @property
    def columns(self) -> list[ColumnInfo] | None:
        """The profile columns, once the wizard has read them."""
        source = self.screen.source  # type: ignore[attr-defined]
        return source.columns if source is not None else None

    def compose(self) -> ComposeResult:
        yield Static(id="map-lead", classes="lead")
        yield LoadingIndicator(id="map-busy")
        yield Vertical(id="map-rows")

    def source_ready(self) -> None:
        if self.screen.step is self:  # type: ignore[attr-defined]
            self.call_later(self.entered)

    async def entered(self) -> None:
        kind = self.form.connection.type if self.form.connection else None
        self.query_one("#map-busy").display = self.columns is None
        if kind is None or self.columns is None or self.built_for == kind:
            return
        self.built_for = None  # no sync from the rows being replaced
        fields = list(CATALOGUES[kind].fields)
        previous = {f: c for f, c in self.form.mapping.items() if f in fields}
        self.form.mapping = {**suggest_mapping(self.columns, fields), **previous}
        self.query_one("#map-lead", Static).update(
            f"Which profile column holds each {self.form.label} field? Email is required; the "
            "others are optional. Suggestions are pre-filled from column names and sample values.")
        rows = self.query_one("#map-rows", Vertical)
        await rows.remove_children()
        await rows.mount_all([self._row(f) for f in fields])
        self.built_for = kind
        self.changed()

    def _row(self, field: str) -> Horizontal:
        assert self.columns is not None
        options = [(f"{c.name} ({c.type.lower()})", c.name) for c in self.columns]
        chosen = self.form.mapping.get(field)
        select: Select[str] = Select(
            options, id=f"map-{field}", value=chosen if chosen else Select.NULL,
            prompt="(pick the email column)" if field == "email" else "(not sent)")
        label = FIELD_LABELS[field] + (" *" if field == "email" else "")
        return Horizontal(Label(label, classes="map-label"), select,
                          Static(samples_text(self._column(chosen)), id=f"samples-{field}",
                                 classes="samples"),
                          classes="map-row")

    def _column(self, name: str | None) -> ColumnInfo | None:
        return next((c for c in self.columns or [] if c.name == name), None)

    def sync(self) -> None:
        if self.built_for is None or not self.query(".map-row Select"):
            return  # rows not built yet: the draft keeps the suggestions
        mapping = {}
        for select in self.query(".map-row Select").results(Select):
            if select.value is not Select.NULL:
                mapping[(select.id or "").removeprefix("map-")] = str(select.value)
        self.form.mapping = mapping

    @on(Select.Changed)
    def _mapped(self, event: Select.Changed) -> None:
        field = (event.select.id or "").removeprefix("map-")
        value = None if event.value is Select.NULL else str(event.value)
        self.query_one(f"#samples-{field}", Static).update(samples_text(self._column(value)))

    def problem(self) -> str | None:
        if self.columns is None:
            return "Reading the profile columns…"
        if "email" not in self.form.mapping:
            return "Map the column holding the email address."
        return None


class SegmentsStep(ExportStep):
    TITLE = "Segments"

    def __init__(self, form: ExportForm, *, id: str) -> None:
        super().__init__(form, id=id)
        self.counts: dict[str, int] = {}
        self.loaded = False

    def compose(self) -> ComposeResult:
        yield Static("Which segments does this export send? Each shows its member count, live "
                     "from the profile source.", classes="lead")
        yield LoadingIndicator(id="segments-busy")
        yield SelectionList[str](id="export-segments")
        yield Static(id="segments-total")
        yield Static(id="segments-cap", classes="warning")

    def source_ready(self) -> None:
        """Show every segment with its member count (once the wizard has counted them)."""
        source = self.screen.source  # type: ignore[attr-defined]
        if source is None or self.loaded:
            return
        self.loaded = True
        self.query_one("#segments-busy").display = False
        selection = self.query_one("#export-segments", SelectionList)
        selection.clear_options()
        for segment, count, error in source.counts:
            if count is None:
                selection.add_option(Selection(f"{segment.name} — cannot count: {error}",
                                               segment.name, disabled=True))
            else:
                self.counts[segment.name] = count
                selection.add_option(Selection(f"{segment.name} — {count:,} members",
                                               segment.name, segment.name in self.form.segments))
        if selection.option_count:
            selection.highlighted = 0
        self.update_total()
        self.changed()

    def entered(self) -> None:
        self.source_ready()
        self.query_one("#segments-busy").display = not self.loaded
        self.update_total()

    def sync(self) -> None:
        if self.loaded:
            selected = set(self.query_one("#export-segments", SelectionList).selected)
            self.form.segments = [name for name in self.counts if name in selected]

    @on(SelectionList.SelectedChanged, "#export-segments")
    def _selected(self) -> None:
        self.sync()
        self.update_total()

    def update_total(self) -> None:
        total = sum(self.counts.get(s, 0) for s in self.form.segments)
        count = len(self.form.segments)
        self.query_one("#segments-total", Static).update(
            f"Selected: {count} segment(s), {total:,} profiles in all." if count else "")
        warning = self.cap_warning(total)
        self.query_one("#segments-cap", Static).update(warning or "")
        self.query_one("#segments-cap").display = warning is not None

    def cap_warning(self, total: int) -> Content | None:
        """The documented cap of the platform, when the total passes it, and what follows."""
        if self.form.connection is None:
            return None
        catalogue = CATALOGUES[self.form.connection.type]
        if total <= catalogue.cap:
            return None
        return Content.styled(
            f"⚠ {total:,} profiles is above {self.form.label}'s documented limit of "
            f"{catalogue.cap:,} profiles {catalogue.cap_scope}. Runs of this export will be "
            "refused until the total is below it, unless the export raises its cap (your "
            "contract with the platform may allow more). Pick fewer or smaller segments, or "
            "split them over several exports.", "$warning")

    def problem(self) -> str | None:
        if not self.loaded:
            return "Counting members…"
        return None if self.form.segments else "Pick one or more segments."
