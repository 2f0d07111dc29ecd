"""Tests for helpers/errors.py: one home for the errors every module raises, and their hints."""
import pytest

from helpers import errors


def test_errors_live_in_one_place_and_keep_their_old_addresses():
    import helpers as nst
    from helpers import device, images

    assert images.ImageError is errors.ImageError is nst.ImageError
    assert device.DeviceError is errors.DeviceError is nst.DeviceError
    assert nst.OptionError is errors.OptionError
    for cls in (errors.ImageError, errors.DeviceError, errors.OptionError, errors.ImageNotFoundError):
        assert issubclass(cls, ValueError) and cls.__doc__
    assert issubclass(errors.ImageNotFoundError, FileNotFoundError)


@pytest.mark.parametrize("name, known, expected", [
    ("chelsae", ["chelsea", "coffee", "rocket"], ["chelsea"]),
    ("mondrain.png", ["mondrian.png", "mondrian.jpg", "swirls.png"], ["mondrian.png", "mondrian.jpg"]),
    ("xyz", ["chelsea", "coffee"], []),
])
def test_close_names_suggests_probable_typos(name, known, expected):
    assert errors.close_names(name, known) == expected
