"""helpers.options is the one source of stylize's options: a new field reaches the CLI and the studio.

The test adds options the way a contributor would -- one field each on :class:`Options` -- and
checks that ``python -m helpers``'s parser and the StyleStudio's controls pick them up with no
other edit: flag, help text, type and choices; control kind, range, starting value and the value
passed to a run.
"""
from dataclasses import dataclass

import ipywidgets
import pytest

from helpers import options
from helpers.__main__ import build_parser


@dataclass(frozen=True)
class WithNewOptions(options.Options):
    """The real options plus three new ones: a slider, a log slider and a menu."""

    grain: float = options._opt(0.5, "film grain added after each stage (made up for this test)",
                                ui=("lin", 0.0, 2.0))
    glow_weight: float = options._opt(0.0, "weight of a glow term (made up for this test)",
                                      ui=("log", -2, 2))
    palette: str | None = options._opt(None, "a colour palette (made up for this test)",
                                       choices=(None, "warm", "cold"))
    note: str = options._opt("", "free text: no ui range, no choices, so no control")


@pytest.fixture
def new_options(monkeypatch):
    monkeypatch.setattr(options, "Options", WithNewOptions)
    names = [n for n, _, _ in options.described()]
    assert names[-4:] == ["grain", "glow_weight", "palette", "note"]  # described() reads the patch


def test_a_new_option_gets_a_cli_flag(new_options, capsys):
    p = build_parser()
    args = p.parse_args(["--grain", "1.5", "--glow-weight", "0.3", "--palette", "warm", "--note", "hi"])
    assert (args.grain, args.glow_weight, args.palette, args.note) == (1.5, 0.3, "warm", "hi")
    args = p.parse_args([])
    assert (args.grain, args.glow_weight, args.palette, args.note) == (0.5, 0.0, None, "")
    helptext = p.format_help()
    assert "--grain GRAIN" in helptext and "film grain added after each stage" in helptext
    with pytest.raises(SystemExit) as e:
        p.parse_args(["--palette", "pink"])
    assert e.value.code == 2
    err = capsys.readouterr().err
    assert "--palette" in err and "'pink'" in err and "warm" in err and "cold" in err
    with pytest.raises(SystemExit):
        p.parse_args(["--grain", "lots"])
    assert "--grain" in capsys.readouterr().err


def test_a_new_option_gets_a_studio_control(new_options):
    import helpers as nst

    st = nst.StyleStudio("chelsea", "mondrian", size=64, steps=1, device="cpu", grain=1.25)
    grain, glow, palette = (st.controls[n] for n in ("grain", "glow_weight", "palette"))
    assert isinstance(grain, ipywidgets.FloatSlider) and (grain.min, grain.max, grain.value) == (0.0, 2.0, 1.25)
    assert isinstance(glow, ipywidgets.SelectionSlider) and glow.value == 0.0
    assert [v for _, v in glow.options][:2] == [0.0, 0.01] and glow.options[-1][1] == 100.0
    assert isinstance(palette, ipywidgets.Dropdown) and list(palette.options) == ["off", "warm", "cold"]
    assert "note" not in st.controls and st.fixed["note"] == ""  # passed to every run as given
    assert "film grain" in (getattr(grain, "tooltip", None) or grain.description_tooltip)
    s = st.settings()
    assert (s["grain"], s["glow_weight"], s["palette"], s["note"]) == (1.25, 0.0, None, "")
    st.set(grain=1.75, glow_weight=0.1, palette="cold")
    s = st.settings()
    assert (s["grain"], s["glow_weight"], s["palette"]) == (1.75, 0.1, "cold")
    left = st.widget.children[1].children[0]
    assert glow in left.children and grain not in left.children  # log sliders sit with eq. 7's weights


def test_options_describe_every_field_with_doc_choices_ui_and_cli():
    for name, default, meta in options.described():
        assert set(meta) == {"doc", "choices", "ui", "cli"} and meta["doc"], name
        if meta["ui"]:
            kind, lo, hi = meta["ui"]
            assert kind in ("log", "lin") and lo < hi, name
            if kind == "log" and default:
                assert 10.0 ** lo <= default <= 10.0 ** hi, name
            elif kind == "lin":
                assert lo <= default <= hi, name
        if meta["choices"] and not isinstance(default, tuple):
            assert default in meta["choices"], name


def test_a_percent_sign_in_an_option_text_reaches_the_help_as_written():
    # argparse %-formats help texts: a bare "%" in an option's doc would crash --help
    helptext = build_parser().format_help()
    assert "60 % of the steps on a reconstruction" in " ".join(helptext.split())
