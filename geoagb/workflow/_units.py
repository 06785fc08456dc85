"""What the target is, and the carbon unit rule shared by the report, the demo and ``geoagb map``.

:func:`target_traits` resolves once, at fit, whether the target is biomass (so that a carbon
stock means something), whether it is non-negative (so that maps are clipped at 0) and its
carbon fraction; the bundle's manifest keeps the answer under ``target_traits``.

A carbon total is shown in the largest of MgC, GgC (1e3 Mg) and TgC (1e6 Mg) in which it
has at most four digits before the decimal point, so that a table of regions is read in one
unit, stated once: 9,425 MgC, 12.4 GgC, 37.1 TgC.
"""

from __future__ import annotations

import math
import re
from dataclasses import asdict, dataclass

import numpy as np

__all__ = [
    "DEFAULT_CARBON_FRACTION",
    "TargetTraits",
    "carbon_unit",
    "format_carbon",
    "format_number",
    "target_traits",
    "traits_of_manifest",
]

#: Carbon fraction of dry wood biomass, IPCC (2006) Guidelines, vol. 4, ch. 4, table 4.3.
DEFAULT_CARBON_FRACTION = 0.47

# target names that say biomass / carbon density (whole word, case-insensitive)
_BIOMASS_NAMES = re.compile(
    r"^(agb|bgb|biomass|agbd|agb_?density|aboveground_?biomass|belowground_?biomass)$"
)
_CARBON_NAMES = re.compile(r"^(agbc|agc|carbon|carbon_?density|c_?stock|carbon_?stock)$")
# mass per area: Mg/ha, t/ha, MgC/ha, tC/ha, kg/m2, g/m2, Mg ha-1 ...
_MASS_UNIT = re.compile(r"^(mg|t|kg|g|tonnes?)(c)?(/|per)(ha|m2|m\^2|hectare)$")
_MASS_UNIT_NEG = re.compile(r"^(mg|t|kg|g|tonnes?)(c)?(ha|m2|m\^2)-1$")


@dataclass(frozen=True)
class TargetTraits:
    """What a target is: its name and unit, and the three facts the outputs depend on.

    Attributes
    ----------
    name, unit : str
        Target column and its unit, e.g. ``"agb"``, ``"Mg/ha"``.
    nonnegative : bool
        Maps are clipped at 0 (and the count of clipped cells recorded).
    biomass : bool
        A carbon stock is computed from maps of it.
    carbon_fraction : float or None
        Carbon per unit of the target (0.47 for dry biomass, 1 for carbon units); None: no
        carbon stock.
    """

    name: str
    unit: str
    nonnegative: bool
    biomass: bool
    carbon_fraction: float | None

    @property
    def description(self) -> str:
        """Band description and ``geoagb_product`` tag: ``aboveground biomass`` for AGB."""
        if self.name.lower() in ("agb", "agbd", "aboveground_biomass"):
            return "aboveground biomass"
        return f"{self.name} ({self.unit})"

    def to_dict(self) -> dict:
        """The manifest's ``target_traits`` object."""
        return asdict(self)


def _is_mass_per_area(unit: str) -> bool:
    u = unit.replace(" ", "").replace("·", "").replace("_", "").lower()
    return bool(_MASS_UNIT.match(u) or _MASS_UNIT_NEG.match(u))


def _is_carbon_unit(unit: str) -> bool:
    u = unit.replace(" ", "").lower()
    return _is_mass_per_area(unit) and (u.startswith("mgc") or u.startswith("tc"))


def target_traits(
    target: str,
    unit: str,
    nonnegative: bool | None = None,
    carbon_fraction: float | None = None,
) -> TargetTraits:
    """Resolve whether a target is biomass, non-negative, and its carbon fraction.

    The rule (one place, read by ``geoagb fit``, maps and the report):

    * biomass-like: the name is one of agb, agbd, bgb, biomass, agb_density,
      aboveground_biomass, belowground_biomass, agbc, agc, carbon, carbon_density,
      carbon_stock (case-insensitive), or the unit is a mass per area (Mg/ha, t/ha, MgC/ha,
      tC/ha, kg/m2, g/m2, ``Mg ha-1``);
    * ``nonnegative=None`` means True for a biomass-like target, False otherwise;
    * ``carbon_fraction=None`` means, for a biomass-like target in Mg/ha or t/ha (carbon stocks
      are computed in Mg per hectare), 1 for a carbon unit or name (MgC/ha, tC/ha, agbc) and
      0.47 (IPCC 2006) otherwise; no carbon at all for any other target; a fraction given
      makes the target count as biomass (its maps get a carbon stock).

    Parameters
    ----------
    target, unit : str
        Target column and its unit.
    nonnegative : bool or None, default None
        Clip maps at 0; None: the rule above.
    carbon_fraction : float or None, default None
        Carbon per unit of target, in (0, 1]; None: the rule above.

    Returns
    -------
    TargetTraits

    References
    ----------
    IPCC (2006). 2006 IPCC Guidelines for National Greenhouse Gas Inventories, vol. 4, ch. 4
    (carbon fraction 0.47 of dry wood).

    Examples
    --------
    >>> target_traits("agb", "Mg/ha")
    TargetTraits(name='agb', unit='Mg/ha', nonnegative=True, biomass=True, carbon_fraction=0.47)
    >>> target_traits("richness", "species").carbon_fraction is None
    True
    >>> target_traits("axis1", "score", carbon_fraction=0.5).biomass
    True
    """
    if carbon_fraction is not None and not (0.0 < float(carbon_fraction) <= 1.0):
        raise ValueError(
            f"carbon_fraction={carbon_fraction!r} must be in (0, 1]; the IPCC default for wood "
            "is 0.47, 1 for a target already in carbon (MgC/ha); None: no carbon unless the "
            "target is biomass."
        )
    if nonnegative is not None and not isinstance(nonnegative, (bool, np.bool_)):
        raise ValueError(
            f"nonnegative={nonnegative!r} must be True (clip maps at 0), False (a signed target) "
            "or None (True for a biomass-like target)."
        )
    name = str(target).strip().lower()
    carbon_like = bool(_CARBON_NAMES.match(name)) or _is_carbon_unit(str(unit))
    biomass = carbon_like or bool(_BIOMASS_NAMES.match(name)) or _is_mass_per_area(str(unit))
    per_ha = _is_mass_per_area(str(unit)) and str(unit).replace(" ", "").lower()[:1] in "mt"
    if carbon_fraction is None and biomass and per_ha:
        carbon_fraction = 1.0 if carbon_like else DEFAULT_CARBON_FRACTION
    biomass = biomass or carbon_fraction is not None
    nonneg = biomass if nonnegative is None else bool(nonnegative)
    cf = None if carbon_fraction is None else float(carbon_fraction)
    return TargetTraits(str(target), str(unit), nonneg, biomass, cf)


def traits_of_manifest(manifest: dict) -> TargetTraits:
    """The target traits a bundle was fitted with; bundles written before they were recorded
    are read by the rule of :func:`target_traits` on their target and unit (AGB in Mg/ha:
    biomass, non-negative, carbon fraction 0.47, as they were always treated).
    """
    t = manifest.get("target_traits")
    if isinstance(t, dict):
        cf = t.get("carbon_fraction")
        return TargetTraits(
            str(manifest["target"]),
            str(manifest["unit"]),
            bool(t["nonnegative"]),
            bool(t["biomass"]),
            None if cf is None else float(cf),
        )
    return target_traits(manifest["target"], manifest["unit"])


_UNITS = (("MgC", 1.0), ("GgC", 1e3), ("TgC", 1e6))


def carbon_unit(total_MgC: float) -> tuple[str, float]:
    """``(unit, divisor)`` for a carbon total in MgC (see the module docstring).

    Examples
    --------
    >>> carbon_unit(9_425.0), carbon_unit(12_400.0), carbon_unit(3.71e7)
    (('MgC', 1.0), ('GgC', 1000.0), ('TgC', 1000000.0))
    """
    v = abs(float(total_MgC)) if math.isfinite(float(total_MgC)) else 0.0
    for unit, div in _UNITS:
        if v / div < 10_000:
            return unit, div
    return _UNITS[-1]


def format_number(v: float) -> str:
    """Three significant digits at least, no exponent, thousands separated: 9,425 / 12.4 / 3.71.

    Examples
    --------
    >>> [format_number(v) for v in (9425.4, 12.44, 3.714, 0.0)]
    ['9,425', '12.4', '3.71', '0']
    """
    v = float(v)
    if not math.isfinite(v):
        return "nan"
    a = abs(v)
    decimals = 0 if a >= 100 or a == 0 else (1 if a >= 10 else 2)
    return f"{v:,.{decimals}f}"


def format_carbon(value_MgC: float, unit: tuple[str, float] | None = None) -> str:
    """A carbon amount in MgC as text in its unit (or the given ``(unit, divisor)``).

    Examples
    --------
    >>> format_carbon(9_425.2), format_carbon(12_400.0), format_carbon(500.0, ("GgC", 1e3))
    ('9,425 MgC', '12.4 GgC', '0.50 GgC')
    """
    unit, div = unit or carbon_unit(value_MgC)
    return f"{format_number(float(value_MgC) / div)} {unit}"
