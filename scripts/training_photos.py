"""The natural photographs used to train the feed-forward style nets.

The photos come from three Debian wallpaper packages and are read from where
those packages install them; they are not part of this repository. Install
them with one command:

    apt-get install lomiri-wallpapers mate-backgrounds plasma-workspace-wallpapers

(``lomiri-wallpapers`` pulls in ``lomiri-wallpapers-16.04`` and
``lomiri-wallpapers-20.04``, which own the files.)

Each entry of :data:`PHOTOS` is ``(path, package, title, author, licence)``.
``package`` is the package that owns the file (``dpkg -S PATH``) and
``licence`` is the licence given for that file in
``/usr/share/doc/<package>/copyright``.

Only photographs are listed: the drawings and abstract images of the same
packages are left out. No listed file was left out for its licence; every
licence below is a free one.

``python scripts/training_photos.py`` prints the credits as Markdown.
"""
from __future__ import annotations

import os

_LOMIRI = "/usr/share/backgrounds"
_MATE = "/usr/share/backgrounds/mate/nature"
_PLASMA = "/usr/share/wallpapers"

PHOTOS = [  # (path, package, title, author, licence)
    # lomiri-wallpapers-16.04 / -20.04: authors from the Copyright field of
    # /usr/share/doc/lomiri-wallpapers-*/copyright (which corrects two spellings
    # in the file names: Jakub Mede, Clemens Engelhardt).
    (f"{_LOMIRI}/Bridge_by_Sander_Klootwijk.jpg", "lomiri-wallpapers-16.04",
     "Bridge", "Sander Klootwijk", "CC-BY-SA-4.0"),
    (f"{_LOMIRI}/Dragonfly_by_Bolly.jpg", "lomiri-wallpapers-16.04",
     "Dragonfly", "Bolly", "CC-BY-SA-4.0"),
    (f"{_LOMIRI}/Kleiber_by_Lukas_Baubkus.jpg", "lomiri-wallpapers-20.04",
     "Kleiber", "Lukas Baubkus", "CC-BY-SA-3.0"),
    (f"{_LOMIRI}/Picture_0B_by_freespace.jpg", "lomiri-wallpapers-16.04",
     "Picture 0B", 'Trevor "Freespace"', "CC-BY-4.0"),
    (f"{_LOMIRI}/Picture_1A_by_freespace.jpg", "lomiri-wallpapers-16.04",
     "Picture 1A", 'Trevor "Freespace"', "CC-BY-4.0"),
    (f"{_LOMIRI}/Wine_by_Jakkub_Mede.jpg", "lomiri-wallpapers-16.04",
     "Wine", "Jakub Mede", "CC-BY-4.0"),
    (f"{_LOMIRI}/aitzgorri_by_Aitzol_Berasategi.jpg", "lomiri-wallpapers-16.04",
     "aitzgorri", "Aitzol Berasategi", "CC-BY-4.0"),
    (f"{_LOMIRI}/free_by_Peter_Nerlich.jpg", "lomiri-wallpapers-16.04",
     "free", "Peter Nerlich", "CC-BY-SA-4.0"),
    (f"{_LOMIRI}/friends_by_Aitzol_Berasategi.jpg", "lomiri-wallpapers-16.04",
     "friends", "Aitzol Berasategi", "CC-BY-4.0"),
    (f"{_LOMIRI}/greentock_by_Peter_Nerlich.jpg", "lomiri-wallpapers-16.04",
     "greentock", "Peter Nerlich", "CC-BY-SA-4.0"),
    (f"{_LOMIRI}/life_by_Aitzol_Berasategi.jpg", "lomiri-wallpapers-16.04",
     "life", "Aitzol Berasategi", "CC-BY-4.0"),
    (f"{_LOMIRI}/picosdeeuropa_by_Aitzol_Berasategi.jpg", "lomiri-wallpapers-16.04",
     "picosdeeuropa", "Aitzol Berasategi", "CC-BY-4.0"),
    (f"{_LOMIRI}/seeding_by_Clements_Engelhardt.jpg", "lomiri-wallpapers-16.04",
     "seeding", "Clemens Engelhardt", "CC0-1.0"),
    (f"{_LOMIRI}/sunset_by_Aitzol_Berasategi.jpg", "lomiri-wallpapers-16.04",
     "sunset", "Aitzol Berasategi", "CC-BY-4.0"),
    # mate-backgrounds: titles from /usr/share/mate-background-properties/mate-nature.xml,
    # authors are every copyright holder named for the file in
    # /usr/share/doc/mate-backgrounds/copyright.
    (f"{_MATE}/Aqua.jpg", "mate-backgrounds",
     "Aqua", "Charles Barbin", "GPL-2+"),
    (f"{_MATE}/Blinds.jpg", "mate-backgrounds",
     "Blinds", "Lennart Poettering, Andrea Cimitan", "GPL-2+"),
    (f"{_MATE}/Dune.jpg", "mate-backgrounds",
     "Dune", "Marco Cogoni, Hylke Bons", "GPL-2+"),
    (f"{_MATE}/FreshFlower.jpg", "mate-backgrounds",
     "Fresh Flower", "Jens Ansorg", "GPL-2+"),
    (f"{_MATE}/Garden.jpg", "mate-backgrounds",
     "Garden", "Charles Barbin", "GPL-2+"),
    (f"{_MATE}/GreenMeadow.jpg", "mate-backgrounds",
     "Green Meadow", "Timothy Schellhase, Lapo Calamandrei", "GPL-2+"),
    (f"{_MATE}/LadyBird.jpg", "mate-backgrounds",
     "Lady Bird", "Charles Barbin", "GPL-2+"),
    (f"{_MATE}/RainDrops.jpg", "mate-backgrounds",
     "Rain Drops", "blackcombwhistler07", "GPL-2+"),
    (f"{_MATE}/Storm.jpg", "mate-backgrounds",
     "Storm", "Sergey Nazarov", "GPL-2+"),
    (f"{_MATE}/TwoWings.jpg", "mate-backgrounds",
     "Two Wings", "Charles Barbin, Hylke Bons", "GPL-2+"),
    (f"{_MATE}/Wood.jpg", "mate-backgrounds",
     "Wood", "Jean-François Fortin Tam", "GPL-2+"),
    (f"{_MATE}/YellowFlower.jpg", "mate-backgrounds",
     "Yellow Flower", "Charles Barbin", "GPL-2+"),
    # plasma-workspace-wallpapers: /usr/share/doc/plasma-workspace-wallpapers/copyright
    # covers every file with one stanza ("Files: *", "2014 KDE Visual Design Group",
    # GPL-2+) and names no photographer, so titles and authors come from each
    # wallpaper's metadata.json. That metadata says "LGPLv3" instead; the licence
    # below is the one in the copyright file, and both are free. 2560x1600.jpg is the
    # largest landscape size of each; the smaller sizes are links to it.
    (f"{_PLASMA}/BytheWater/contents/images/2560x1600.jpg", "plasma-workspace-wallpapers",
     "By the water", "Maciej Wiklo", "GPL-2+"),
    (f"{_PLASMA}/ColdRipple/contents/images/2560x1600.jpg", "plasma-workspace-wallpapers",
     "Cold Ripple", "Risto Saukonpää", "GPL-2+"),
    (f"{_PLASMA}/ColorfulCups/contents/images/2560x1600.jpg", "plasma-workspace-wallpapers",
     "Colorful Cups", "Dmitri Popov", "GPL-2+"),
    (f"{_PLASMA}/DarkestHour/contents/images/2560x1600.jpg", "plasma-workspace-wallpapers",
     "Darkest Hour", "Risto Saukonpää", "GPL-2+"),
    (f"{_PLASMA}/EveningGlow/contents/images/2560x1600.jpg", "plasma-workspace-wallpapers",
     "Evening Glow", "Ian Hex", "GPL-2+"),
    (f"{_PLASMA}/FallenLeaf/contents/images/2560x1600.jpg", "plasma-workspace-wallpapers",
     "Fallen Leaf", "Martin Klapetek", "GPL-2+"),
    (f"{_PLASMA}/Grey/contents/images/2560x1600.jpg", "plasma-workspace-wallpapers",
     "Grey", "Sigi Sagi", "GPL-2+"),
    (f"{_PLASMA}/Kite/contents/images/2560x1600.jpg", "plasma-workspace-wallpapers",
     "Kite", "Risto Saukonpää", "GPL-2+"),
    (f"{_PLASMA}/OneStandsOut/contents/images/2560x1600.jpg", "plasma-workspace-wallpapers",
     "One Stands Out", "Risto Saukonpää", "GPL-2+"),
    (f"{_PLASMA}/Path/contents/images/2560x1600.jpg", "plasma-workspace-wallpapers",
     "Path", "Risto Saukonpää", "GPL-2+"),
    (f"{_PLASMA}/summer_1am/contents/images/2560x1600.jpg", "plasma-workspace-wallpapers",
     "summer 1am", "Risto Saukonpää", "GPL-2+"),
]

INSTALL = "apt-get install lomiri-wallpapers mate-backgrounds plasma-workspace-wallpapers"


def installed() -> list[str]:
    """Paths of :data:`PHOTOS` that exist on this machine, in list order."""
    return [path for path, *_ in PHOTOS if os.path.isfile(path)]


def credits_markdown() -> str:
    """The credits as a Markdown table: title, author, package, licence."""
    lines = [
        "The photos below are not shipped with this project, only the style nets "
        f"trained on them (install them with `{INSTALL}`).",
        "",
        "| Title | Author | Package | Licence |",
        "| --- | --- | --- | --- |",
    ]
    for _path, package, title, author, licence in PHOTOS:
        lines.append(f"| {title} | {author} | {package} | {licence} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(credits_markdown())
