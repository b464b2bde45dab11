"""Needs–offers matching: the fit table, scores and reasons, self-matches, the incremental index."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.events.domain.forms import Need, Offer
from services.metrics.domain import match_index, matching
from services.metrics.domain.match_index import MatchChanges, MatchIndex
from services.metrics.domain.matching import (
    CATEGORY_FIT,
    NEEDS,
    NEEDS_SERVED,
    OFFERS,
    Answer,
    Match,
    MatchSide,
    OrganizationProfile,
    build_match,
    compute_matches,
    fits,
    match_id,
)
from shared.events.encuentros import NeedsOffersStated
from shared.events.registry import Actor, OrganizationSnapshot, OrganizationWithdrawn

T0 = datetime(2026, 9, 23, 13, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)

# domain.md §8, copied by hand: need → offers that serve it
EXPECTED_FIT = {
    "articulacion_redes": {"redes_espacios", "contactos", "experiencias"},
    "informacion_contactos_voluntariado": {"contactos", "tiempo_voluntariado", "experiencias"},
    "vinculacion_territorial": {"redes_espacios", "contactos"},
    "fortalecimiento": {"aportes_materiales", "saberes_metodologias", "plataformas"},
    "incidencia_politicas": {"saberes_metodologias", "redes_espacios"},
    "difusion": {"plataformas", "redes_espacios"},
}


def answer(
    org: str,
    encuentro: str = "enc-1",
    needs: tuple[str, ...] = (),
    offers: tuple[str, ...] = (),
    at: datetime = T0,
) -> Answer:
    return Answer(org, encuentro, frozenset(needs), frozenset(offers), at)


def profile(
    org: str,
    head: str = "CL-RM",
    regions: tuple[str, ...] = (),
    themes: tuple[str, ...] = (),
    active: bool = True,
) -> OrganizationProfile:
    return OrganizationProfile(org, head, frozenset(regions), frozenset(themes), active)


def only_match(answers: list[Answer], profiles: list[OrganizationProfile]) -> Match:
    found = compute_matches(answers, profiles)
    assert len(found) == 1, found
    return found[0]


# --- the fit table ------------------------------------------------------------------------------


def test_categories_are_the_contracts_and_the_forms() -> None:
    # the contract's identifiers, as the events service's form accepts them
    assert tuple(Need) == NEEDS == tuple(EXPECTED_FIT)
    assert tuple(Offer) == OFFERS
    assert set(CATEGORY_FIT) == set(NEEDS)
    assert {offer for offers in CATEGORY_FIT.values() for offer in offers} <= set(OFFERS)


@pytest.mark.parametrize("need", NEEDS)
@pytest.mark.parametrize("offer", OFFERS)
def test_every_cell_of_the_fit_table(need: str, offer: str) -> None:
    expected = offer in EXPECTED_FIT[need]
    assert fits(need, offer) is expected
    assert (need in NEEDS_SERVED[offer]) is expected
    found = compute_matches(
        [answer("A", needs=(need,)), answer("B", offers=(offer,))],
        [profile("A"), profile("B")],
    )
    assert [(m.need.category, m.offer.category) for m in found] == (
        [(need, offer)] if expected else []
    )


def test_every_offer_serves_some_need() -> None:
    assert all(NEEDS_SERVED[offer] for offer in OFFERS)


def test_unknown_categories_fit_nothing() -> None:
    assert not fits("teletransporte", "plataformas")
    assert not fits("difusion", "teletransporte")
    assert (
        compute_matches(
            [answer("A", needs=("teletransporte",)), answer("B", offers=("teletransporte",))],
            [profile("A"), profile("B")],
        )
        == []
    )


def test_one_match_per_fitting_pair_of_categories() -> None:
    found = compute_matches(
        [
            answer("A", needs=("difusion", "fortalecimiento")),
            answer("B", offers=("plataformas", "redes_espacios", "experiencias")),
        ],
        [profile("A"), profile("B")],
    )
    assert [(m.need.category, m.offer.category) for m in found] == [
        ("difusion", "plataformas"),
        ("difusion", "redes_espacios"),
        ("fortalecimiento", "plataformas"),
    ]


# --- who is matched -----------------------------------------------------------------------------


def test_never_an_organisation_with_itself() -> None:
    same_encuentro = answer("A", needs=("difusion",), offers=("plataformas",))
    other_encuentro = answer("A", "enc-2", offers=("plataformas", "redes_espacios"))
    assert compute_matches([same_encuentro, other_encuentro], [profile("A")]) == []
    with pytest.raises(ValueError, match="itself"):
        build_match(
            MatchSide("A", "difusion", "enc-1"),
            MatchSide("A", "plataformas", "enc-2"),
            profile("A"),
            profile("A"),
        )


def test_build_match_refuses_categories_that_do_not_fit() -> None:
    with pytest.raises(ValueError, match="does not serve"):
        build_match(
            MatchSide("A", "difusion", "enc-1"),
            MatchSide("B", "contactos", "enc-1"),
            profile("A"),
            profile("B"),
        )


def test_across_encuentros_of_different_macrozones() -> None:
    north = answer("A", "enc-norte", needs=("vinculacion_territorial",), offers=("experiencias",))
    south = answer("B", "enc-sur", needs=("articulacion_redes",), offers=("contactos",))
    found = compute_matches(
        [north, south], [profile("A", head="CL-AN"), profile("B", head="CL-MA")]
    )
    assert [(m.need.to_dict(), m.offer.to_dict()) for m in found] == [
        (
            {
                "organization_id": "A",
                "category": "vinculacion_territorial",
                "encuentro_id": "enc-norte",
            },
            {"organization_id": "B", "category": "contactos", "encuentro_id": "enc-sur"},
        ),
        (
            {"organization_id": "B", "category": "articulacion_redes", "encuentro_id": "enc-sur"},
            {"organization_id": "A", "category": "experiencias", "encuentro_id": "enc-norte"},
        ),
    ]
    assert all(m.score == 1.0 for m in found)


def test_one_organisation_at_two_encuentros_gives_one_match_per_encuentro() -> None:
    found = compute_matches(
        [
            answer("A", "enc-1", needs=("difusion",)),
            answer("B", "enc-1", offers=("plataformas",)),
            answer("B", "enc-2", offers=("plataformas",)),
        ],
        [profile("A"), profile("B")],
    )
    assert [m.offer.encuentro_id for m in found] == ["enc-1", "enc-2"]
    assert len({m.match_id for m in found}) == 2


def test_only_active_known_organisations_take_part() -> None:
    answers = [answer("A", needs=("difusion",)), answer("B", offers=("plataformas",))]
    assert compute_matches(answers, [profile("A")]) == []  # B's profile not known
    assert compute_matches(answers, [profile("A"), profile("B", active=False)]) == []
    assert len(compute_matches(answers, [profile("A"), profile("B")])) == 1


# --- score and reasons --------------------------------------------------------------------------


def test_same_region_scores_half_a_point() -> None:
    match = only_match(
        [answer("A", needs=("difusion",)), answer("B", "enc-2", offers=("plataformas",))],
        [profile("A", head="CL-RM", regions=("CL-BI",)), profile("B", head="CL-BI")],
    )
    assert match.score == 1.5
    assert [r.text for r in match.reasons] == [
        "La necesidad «difusion» se sirve con la oferta «plataformas»",
        "Ambas organizaciones trabajan en la región Biobío (CL-BI)",
    ]
    assert [r.to_dict() for r in match.reasons] == [
        {"code": "category_fit", "points": 1.0, "values": ["difusion", "plataformas"]},
        {"code": "same_region", "points": 0.5, "values": ["CL-BI"]},
    ]


def test_several_shared_regions_are_named_north_to_south_and_count_once() -> None:
    match = only_match(
        [answer("A", needs=("difusion",)), answer("B", offers=("plataformas",))],
        [
            profile("A", head="CL-BI", regions=("CL-VS", "CL-RM")),
            profile("B", head="CL-RM", regions=("CL-BI", "CL-VS")),
        ],
    )
    assert match.score == 1.5
    assert match.reasons[1].values == ("CL-VS", "CL-RM", "CL-BI")
    assert match.reasons[1].text == (
        "Ambas organizaciones trabajan en las regiones Valparaíso (CL-VS), "
        "Metropolitana de Santiago (CL-RM) y Biobío (CL-BI)"
    )


def test_same_macrozone_without_a_shared_region_scores_a_quarter() -> None:
    match = only_match(
        [answer("A", needs=("fortalecimiento",)), answer("B", offers=("aportes_materiales",))],
        [profile("A", head="CL-RM"), profile("B", head="CL-ML")],
    )
    assert match.score == 1.25
    assert match.reasons[1].code == "same_macrozone"
    assert match.reasons[1].values == ("centro_sur",)
    assert match.reasons[1].text == (
        "Ambas organizaciones trabajan en la macrozona Centro Sur y RM (centro_sur)"
    )


def test_a_working_region_gives_its_macrozone() -> None:
    # A's head office is in the north, but it works in Los Ríos, as B in Magallanes
    match = only_match(
        [answer("A", needs=("difusion",)), answer("B", offers=("redes_espacios",))],
        [profile("A", head="CL-AN", regions=("CL-LR",)), profile("B", head="CL-MA")],
    )
    assert match.score == 1.25
    assert match.reasons[1].values == ("sur_austral",)


def test_nothing_shared_is_the_fit_alone() -> None:
    match = only_match(
        [
            answer("A", needs=("incidencia_politicas",)),
            answer("B", offers=("saberes_metodologias",)),
        ],
        [
            profile("A", head="CL-AP", themes=("pobreza",)),
            profile("B", head="CL-MA", themes=("vivienda",)),
        ],
    )
    assert match.score == 1.0
    assert [r.code for r in match.reasons] == ["category_fit"]
    assert match.reasons[0].text == (
        "La necesidad «incidencia_politicas» se sirve con la oferta «saberes_metodologias»"
    )


def test_shared_themes_add_a_tenth_each_up_to_three_tenths() -> None:
    def themed(shared: tuple[str, ...]) -> Match:
        return only_match(
            [answer("A", needs=("difusion",)), answer("B", offers=("plataformas",))],
            [
                profile("A", head="CL-AP", themes=(*shared, "cuidados")),
                profile("B", head="CL-MA", themes=(*shared, "migracion")),
            ],
        )

    one = themed(("pobreza",))
    assert one.score == 1.1
    assert one.reasons[1].to_dict() == {
        "code": "shared_themes",
        "points": 0.1,
        "values": ["pobreza"],
    }
    assert one.reasons[1].text == "Comparten el tema «pobreza»"
    assert themed(("pobreza", "educacion")).score == 1.2
    three = themed(("pobreza", "educacion", "vivienda"))
    assert three.score == 1.3
    assert three.reasons[1].text == "Comparten los temas «educacion», «pobreza» y «vivienda»"
    four = themed(("pobreza", "educacion", "vivienda", "discapacidad"))
    assert four.score == 1.3  # capped, but every shared theme is named
    assert four.reasons[1].values == ("discapacidad", "educacion", "pobreza", "vivienda")
    assert four.reasons[1].points == 0.3


def test_otro_is_not_a_shared_theme() -> None:
    match = only_match(
        [answer("A", needs=("difusion",)), answer("B", offers=("plataformas",))],
        [
            profile("A", head="CL-AP", themes=("otro",)),
            profile("B", head="CL-MA", themes=("otro",)),
        ],
    )
    assert match.score == 1.0


def test_the_highest_score_and_its_reasons_in_order() -> None:
    match = only_match(
        [answer("A", needs=("difusion",)), answer("B", offers=("plataformas",))],
        [
            profile("A", themes=("pobreza", "educacion", "vivienda", "cuidados")),
            profile("B", themes=("pobreza", "educacion", "vivienda", "cuidados")),
        ],
    )
    assert match.score == 1.8
    assert [r.code for r in match.reasons] == ["category_fit", "same_region", "shared_themes"]
    assert sum(r.points for r in match.reasons) == pytest.approx(match.score)


def test_match_json_has_the_contracts_shape() -> None:
    match = only_match(
        [answer("A", needs=("difusion",)), answer("B", "enc-2", offers=("plataformas",))],
        [profile("A", themes=("pobreza",)), profile("B", head="CL-VS", themes=("pobreza",))],
    )
    assert match.to_dict() == {
        "match_id": match.match_id,
        "need": {"organization_id": "A", "category": "difusion", "encuentro_id": "enc-1"},
        "offer": {"organization_id": "B", "category": "plataformas", "encuentro_id": "enc-2"},
        "score": 1.1,
        "reasons": [
            "La necesidad «difusion» se sirve con la oferta «plataformas»",
            "Comparten el tema «pobreza»",
        ],
        "reason_codes": [
            {"code": "category_fit", "points": 1.0, "values": ["difusion", "plataformas"]},
            {"code": "shared_themes", "points": 0.1, "values": ["pobreza"]},
        ],
    }


def test_match_id_is_stable_and_tells_the_pairs_apart() -> None:
    need = MatchSide("A", "difusion", "enc-1")
    offer = MatchSide("B", "plataformas", "enc-2")
    assert match_id(need, offer) == match_id(
        MatchSide("A", "difusion", "enc-1"), MatchSide("B", "plataformas", "enc-2")
    )
    assert len(match_id(need, offer)) == 32
    ids = {
        match_id(need, offer),
        match_id(need, MatchSide("B", "plataformas", "enc-1")),
        match_id(need, MatchSide("B", "redes_espacios", "enc-2")),
        match_id(MatchSide("A", "difusion", "enc-2"), offer),
        match_id(MatchSide("C", "difusion", "enc-1"), offer),
        # separators cannot be forged by ids that contain them
        match_id(MatchSide("A", "difusion", "enc-1,B"), MatchSide("", "plataformas", "enc-2")),
    }
    assert len(ids) == 6


def test_profile_macrozones_come_from_head_office_and_working_regions() -> None:
    p = profile("A", head="CL-AN", regions=("CL-LR", "CL-XX"))
    assert p.macrozones == {"norte_centro", "sur_austral"}  # an unknown code gives none
    assert p.territory == {"CL-AN", "CL-LR", "CL-XX"}


def snapshot(status: str = "active") -> OrganizationSnapshot:
    return OrganizationSnapshot(
        rut="76.086.428-5",
        name="Fundación Ejemplo",
        sector="sociedad_civil",
        legal_form="fundacion",
        head_office_region="CL-RM",
        macrozone="centro_sur",
        regions=("CL-RM", "CL-AR"),
        scope="regional",
        roles=("programas",),
        themes=("pobreza", "educacion"),
        status=status,
        verified=False,
        listed=True,
        registered_at=T0,
    )


@pytest.mark.parametrize(
    ("status", "active"),
    [("active", True), ("pending", False), ("suspended", False), ("withdrawn", False)],
)
def test_profile_from_a_registry_event(status: str, active: bool) -> None:
    event = OrganizationWithdrawn(
        organization_id="org-1",
        occurred_at=T0,
        organization=snapshot(status),
        changed_by=Actor(kind="owner", id="org-1"),
        previous_status="active",
    )
    assert OrganizationProfile.from_event(event) == OrganizationProfile(
        "org-1",
        "CL-RM",
        frozenset({"CL-RM", "CL-AR"}),
        frozenset({"pobreza", "educacion"}),
        active,
        frozenset({"centro_sur", "sur_austral"}),
    )


def test_answer_from_the_events_service_event() -> None:
    event = NeedsOffersStated(
        encuentro_id="enc-1",
        occurred_at=datetime(2026, 9, 23, 10, 0, tzinfo=ZoneInfo("America/Santiago")),
        organization_id="org-1",
        macrozone="centro_sur",
        needs=("difusion", "fortalecimiento"),
        offers=("contactos",),
        replaces=False,
    )
    got = Answer.from_event(event)
    assert got == answer("org-1", needs=("difusion", "fortalecimiento"), offers=("contactos",))
    assert got.stated_at.tzinfo is UTC
    assert got.key == ("org-1", "enc-1")


def test_naive_times_are_taken_as_utc() -> None:
    assert answer("A", at=datetime(2026, 9, 23, 13, 0)).stated_at == T0


# --- the incremental index ----------------------------------------------------------------------


def two_organisations() -> MatchIndex:
    index = MatchIndex()
    index.apply_profile(profile("A", head="CL-RM", themes=("pobreza",)))
    index.apply_profile(profile("B", head="CL-ML", themes=("pobreza",)))
    return index


def pairs(matches: list[Match]) -> list[tuple[str, str, str, str]]:
    return [
        (m.need.organization_id, m.need.category, m.offer.organization_id, m.offer.category)
        for m in matches
    ]


def test_a_new_answer_adds_its_matches_on_both_sides() -> None:
    index = two_organisations()
    first = index.apply_answer(answer("A", needs=("difusion",), offers=("contactos",)))
    assert first.empty
    added, withdrawn, rescored = index.apply_answer(
        answer("B", "enc-2", needs=("vinculacion_territorial",), offers=("plataformas",))
    )
    assert pairs(added) == [
        ("A", "difusion", "B", "plataformas"),
        ("B", "vinculacion_territorial", "A", "contactos"),
    ]
    assert withdrawn == [] and rescored == []
    assert all(m.score == 1.35 for m in added)  # fit, same macrozone, one shared theme
    assert index.matches() == added


def test_replacing_an_answer_withdraws_and_adds() -> None:
    index = two_organisations()
    index.apply_answer(answer("B", offers=("plataformas", "contactos")))
    (old,) = index.apply_answer(answer("A", needs=("difusion",))).added
    changes = index.apply_answer(answer("A", needs=("vinculacion_territorial",), at=T0 + HOUR))
    assert changes.withdrawn == [old.match_id]
    assert pairs(changes.added) == [("A", "vinculacion_territorial", "B", "contactos")]
    assert changes.rescored == []
    assert index.matches() == changes.added


def test_a_replacement_keeps_the_matches_that_still_hold() -> None:
    index = two_organisations()
    index.apply_answer(answer("B", offers=("plataformas", "contactos")))
    (kept,) = index.apply_answer(answer("A", needs=("difusion",))).added
    changes = index.apply_answer(
        answer("A", needs=("difusion", "vinculacion_territorial"), at=T0 + HOUR)
    )
    assert changes.withdrawn == []  # announced once, never again
    assert pairs(changes.added) == [("A", "vinculacion_territorial", "B", "contactos")]
    assert kept in index.matches()


def test_an_empty_replacement_withdraws_everything() -> None:
    index = two_organisations()
    index.apply_answer(answer("B", needs=("difusion",), offers=("contactos",)))
    added = index.apply_answer(answer("A", needs=("articulacion_redes",), offers=("plataformas",)))
    assert len(added.added) == 2
    changes = index.apply_answer(answer("A", at=T0 + HOUR))
    assert changes.withdrawn == [m.match_id for m in added.added]
    assert changes.added == [] and index.matches() == []


def test_applying_the_same_answer_twice_changes_nothing() -> None:
    index = two_organisations()
    index.apply_answer(answer("B", offers=("plataformas",)))
    a = answer("A", needs=("difusion",))
    assert len(index.apply_answer(a).added) == 1
    assert index.apply_answer(a).empty
    assert index.apply_answer(answer("A", needs=("difusion",), at=T0 + HOUR)).empty
    assert index.answer("A", "enc-1") == answer("A", needs=("difusion",), at=T0 + HOUR)
    assert len(index.matches()) == 1


def test_a_stale_answer_is_ignored() -> None:
    index = two_organisations()
    index.apply_answer(answer("B", offers=("plataformas", "contactos")))
    index.apply_answer(answer("A", needs=("difusion",), at=T0 + HOUR))
    assert index.apply_answer(answer("A", needs=("vinculacion_territorial",))).empty
    assert pairs(index.matches()) == [("A", "difusion", "B", "plataformas")]


def test_an_organisation_leaving_withdraws_its_matches_and_coming_back_restores_them() -> None:
    index = two_organisations()
    index.apply_profile(profile("C", head="CL-MA"))
    index.apply_answer(answer("A", needs=("difusion",)))
    index.apply_answer(answer("B", offers=("plataformas",)))
    index.apply_answer(answer("C", "enc-3", offers=("redes_espacios",)))
    before = index.matches()
    assert len(before) == 2
    withdrawn_b = [m.match_id for m in before if m.offer.organization_id == "B"]
    leaving = index.apply_profile(profile("B", head="CL-ML", themes=("pobreza",), active=False))
    assert leaving == MatchChanges([], withdrawn_b, [])
    assert pairs(index.matches()) == [("A", "difusion", "C", "redes_espacios")]
    assert index.answer("B", "enc-1") is not None  # kept, in case it comes back
    back = index.apply_profile(profile("B", head="CL-ML", themes=("pobreza",)))
    assert [m.match_id for m in back.added] == withdrawn_b
    assert index.matches() == before


def test_an_answer_waits_for_its_organisations_profile() -> None:
    index = MatchIndex()
    index.apply_profile(profile("A"))
    index.apply_answer(answer("A", needs=("difusion",)))
    assert index.apply_answer(answer("B", offers=("plataformas",))).empty
    assert not index.takes_part("B")
    changes = index.apply_profile(profile("B", head="CL-VS"))
    assert pairs(changes.added) == [("A", "difusion", "B", "plataformas")]
    assert changes.added[0].score == 1.0


def test_a_profile_change_rescores_that_organisations_matches() -> None:
    index = two_organisations()  # A in CL-RM, B in CL-ML: same macrozone, shared "pobreza"
    index.apply_profile(profile("C", head="CL-AN"))
    index.apply_answer(answer("A", needs=("difusion",), offers=("contactos",)))
    index.apply_answer(answer("B", "enc-2", needs=("articulacion_redes",)))
    index.apply_answer(answer("C", "enc-3", offers=("plataformas",)))
    assert [m.score for m in index.matches()] == [1.0, 1.35]
    changes = index.apply_profile(
        profile("A", head="CL-RM", regions=("CL-ML",), themes=("pobreza", "educacion"))
    )
    assert changes.added == [] and changes.withdrawn == []
    (rescored,) = changes.rescored  # A–C is unchanged: nothing shared either way
    assert pairs([rescored]) == [("B", "articulacion_redes", "A", "contactos")]
    assert rescored.score == 1.6
    assert [r.code for r in rescored.reasons] == ["category_fit", "same_region", "shared_themes"]
    assert [m.score for m in index.matches()] == [1.0, 1.6]
    assert index.apply_profile(
        profile("A", head="CL-RM", regions=("CL-ML",), themes=("pobreza", "educacion"))
    ).empty


def test_a_change_of_reasons_alone_is_a_rescore() -> None:
    index = MatchIndex()
    index.apply_profile(
        profile("A", head="CL-RM", regions=("CL-VS",), themes=("pobreza", "vivienda"))
    )
    index.apply_profile(profile("B", head="CL-RM", themes=("pobreza",)))
    index.apply_answer(answer("A", needs=("difusion",)))
    (match,) = index.apply_answer(answer("B", offers=("plataformas",))).added
    assert match.score == 1.6
    (moved,) = index.apply_profile(profile("B", head="CL-VS", themes=("vivienda",))).rescored
    assert moved.match_id == match.match_id
    assert moved.score == 1.6  # the same score, for other reasons
    assert [r.values for r in moved.reasons[1:]] == [("CL-VS",), ("vivienda",)]
    # a profile change that does not touch the match's reasons is no rescore
    assert index.apply_profile(profile("B", head="CL-VS", themes=("vivienda", "otro"))).empty


def test_removing_an_answer_withdraws_its_matches() -> None:
    index = two_organisations()
    index.apply_answer(answer("A", needs=("difusion",)))
    (match,) = index.apply_answer(answer("B", offers=("plataformas",))).added
    assert index.remove_answer("B", "enc-1") == MatchChanges([], [match.match_id], [])
    assert index.remove_answer("B", "enc-1").empty
    assert index.matches() == [] and index.answer("B", "enc-1") is None


def test_matches_filtered_by_organisation_and_encuentro() -> None:
    index = two_organisations()
    index.apply_profile(profile("C", head="CL-MA"))
    index.apply_answer(answer("A", "enc-1", needs=("difusion",)))
    index.apply_answer(answer("B", "enc-1", offers=("plataformas",)))
    index.apply_answer(answer("C", "enc-2", offers=("redes_espacios",), needs=("difusion",)))
    everything = index.matches()
    assert pairs(everything) == [
        ("A", "difusion", "B", "plataformas"),
        ("A", "difusion", "C", "redes_espacios"),
        ("C", "difusion", "B", "plataformas"),
    ]
    assert index.matches(organization_id="C") == [everything[1], everything[2]]
    assert index.matches(encuentro_id="enc-2") == [everything[1], everything[2]]
    assert index.matches(encuentro_id="enc-1") == everything
    assert index.matches(organization_id="A", encuentro_id="enc-2") == []
    assert index.matches(organization_id="unknown") == []


def test_a_new_answer_only_looks_at_the_buckets_that_fit(monkeypatch: pytest.MonkeyPatch) -> None:
    index = MatchIndex()
    for n in range(300):
        # offers that do not serve "difusion", or from inactive organisations: no candidates
        active = n % 3 != 2
        index.apply_profile(profile(f"org-{n}", active=active))
        offers = ("contactos", "experiencias") if active else ("plataformas",)
        index.apply_answer(answer(f"org-{n}", offers=offers))
    for n in range(5):
        index.apply_profile(profile(f"fit-{n}"))
        index.apply_answer(answer(f"fit-{n}", offers=("plataformas",)))
    index.apply_profile(profile("A"))
    built: list[tuple[str, str]] = []
    real = matching.build_match

    def counting(need: MatchSide, offer: MatchSide, *profiles: OrganizationProfile) -> Match:
        built.append((need.organization_id, offer.organization_id))
        return real(need, offer, *profiles)

    monkeypatch.setattr(match_index, "build_match", counting)  # where the index calls it
    changes = index.apply_answer(answer("A", needs=("difusion",)))
    assert len(changes.added) == 5
    assert sorted(built) == [("A", f"fit-{n}") for n in range(5)]  # not the other 300


# --- records ------------------------------------------------------------------------------------


def test_the_index_round_trips_through_json() -> None:
    index = two_organisations()
    index.apply_profile(profile("C", head="CL-MA", regions=("CL-AI",), active=False))
    index.apply_answer(answer("A", needs=("difusion", "fortalecimiento"), offers=("contactos",)))
    index.apply_answer(
        answer("B", "enc-2", needs=("vinculacion_territorial",), offers=("plataformas",))
    )
    index.apply_answer(answer("C", "enc-3", offers=("redes_espacios",)))
    data = index.to_dict()
    assert data["answers"][0] == {
        "organization_id": "A",
        "encuentro_id": "enc-1",
        "needs": ["difusion", "fortalecimiento"],
        "offers": ["contactos"],
        "stated_at": "2026-09-23T13:00:00+00:00",
    }
    assert data["profiles"][2] == {
        "organization_id": "C",
        "head_office_region": "CL-MA",
        "regions": ["CL-AI"],
        "macrozones": ["sur_austral"],
        "themes": [],
        "active": False,
    }
    loaded = MatchIndex.from_dict(json.loads(json.dumps(data)))
    assert loaded.to_dict() == data
    assert loaded.matches() == index.matches()
    assert len(loaded.matches()) == 3
    # and it goes on from there as the original would
    back = profile("C", head="CL-MA", regions=("CL-AI",))
    changes = loaded.apply_profile(back)
    assert changes == index.apply_profile(back)
    assert pairs(changes.added) == [
        ("A", "difusion", "C", "redes_espacios"),
        ("B", "vinculacion_territorial", "C", "redes_espacios"),
    ]


def test_answer_records_accept_a_stored_datetime() -> None:
    record = answer("A", needs=("difusion",)).to_dict() | {"stated_at": datetime(2026, 9, 23, 13)}
    assert Answer.from_dict(record) == answer("A", needs=("difusion",))


@pytest.mark.parametrize(
    ("record", "message"),
    [
        (
            {"encuentro_id": "e", "needs": [], "offers": [], "stated_at": "2026-09-23"},
            "organization_id",
        ),
        ({"organization_id": "A", "encuentro_id": "e", "needs": "difusion", "offers": []}, "needs"),
        ({"organization_id": "A", "encuentro_id": "e", "needs": [], "offers": [1]}, "offers"),
        ({"organization_id": "A", "encuentro_id": "e", "needs": [], "offers": []}, "stated_at"),
        (
            {
                "organization_id": "A",
                "encuentro_id": "e",
                "needs": [],
                "offers": [],
                "stated_at": "ayer",
            },
            "stated_at",
        ),
        (["A"], "not an object"),
    ],
)
def test_malformed_answer_records_are_refused(record: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Answer.from_dict(record)  # type: ignore[arg-type]


def test_malformed_index_records_are_refused() -> None:
    with pytest.raises(ValueError, match="lists of records"):
        MatchIndex.from_dict({"answers": []})
    with pytest.raises(ValueError, match="active"):
        MatchIndex.from_dict({"answers": [], "profiles": [profile("A").to_dict() | {"active": 1}]})
    with pytest.raises(ValueError, match="regions"):
        OrganizationProfile.from_dict(profile("A").to_dict() | {"regions": None})


# --- property: incremental equals from scratch --------------------------------------------------

ORGS = ["A", "B", "C", "D", "E"]
ENCUENTROS = ["enc-norte", "enc-centro", "enc-sur"]
REGION_POOL = ["CL-AN", "CL-VS", "CL-RM", "CL-BI", "CL-AR", "CL-MA"]
THEME_POOL = ["pobreza", "educacion", "vivienda", "cuidados", "otro"]

needs_st = st.frozensets(st.sampled_from([*NEEDS, "desconocida"]), max_size=3)
offers_st = st.frozensets(st.sampled_from([*OFFERS, "desconocida"]), min_size=1, max_size=3)

answer_ops = st.builds(
    lambda org, enc, needs, offers, hours: (
        "answer",
        answer(org, enc, needs, offers, T0 + hours * HOUR),
    ),
    st.sampled_from(ORGS),
    st.sampled_from(ENCUENTROS),
    needs_st,
    offers_st,
    st.integers(0, 4),
)


def profile_ops(
    orgs: st.SearchStrategy[str], active: st.SearchStrategy[bool]
) -> st.SearchStrategy[tuple[str, OrganizationProfile]]:
    return st.builds(
        lambda org, head, regions, themes, active: (
            "profile",
            OrganizationProfile(org, head, regions, themes, active),
        ),
        orgs,
        st.sampled_from(REGION_POOL),
        st.frozensets(st.sampled_from(REGION_POOL), max_size=2),
        st.frozensets(st.sampled_from(THEME_POOL), max_size=4),
        active,
    )


remove_ops = st.tuples(st.just("remove"), st.sampled_from(ORGS), st.sampled_from(ENCUENTROS))
reload_ops = st.tuples(st.just("reload"))

first_profile = {org: profile_ops(st.just(org), st.just(True)) for org in ORGS}
profile_changes = profile_ops(st.sampled_from(ORGS), st.sampled_from([True, True, True, False]))
mixed_ops = st.one_of(answer_ops, answer_ops, answer_ops, profile_changes, remove_ops, reload_ops)


@st.composite
def operations(draw: st.DrawFn) -> list[tuple[Any, ...]]:
    """Most organisations known and active from the start (else their answers only wait), then
    a mix where one profile change in four makes an organisation leave."""
    known = [draw(first_profile[org]) for org in ORGS if draw(st.integers(0, 4)) > 0]
    return known + draw(st.lists(mixed_ops, min_size=5, max_size=40))


def run(ops: list[tuple[Any, ...]]) -> tuple[MatchIndex, list[MatchChanges]]:
    """Apply the operations, checking each change against what was announced before it, and
    the state after each against a from-scratch computation over the records so far."""
    index = MatchIndex()
    final_answers: dict[tuple[str, str], Answer] = {}
    final_profiles: dict[str, OrganizationProfile] = {}
    announced: dict[str, Match] = {}
    log: list[MatchChanges] = []
    for op in ops:
        if op[0] == "answer":
            new: Answer = op[1]
            held = final_answers.get(new.key)
            if held is None or new.stated_at >= held.stated_at:
                final_answers[new.key] = new
            changes = index.apply_answer(new)
        elif op[0] == "profile":
            final_profiles[op[1].organization_id] = op[1]
            changes = index.apply_profile(op[1])
        elif op[0] == "remove":
            final_answers.pop((op[1], op[2]), None)
            changes = index.remove_answer(op[1], op[2])
        else:
            index = MatchIndex.from_dict(json.loads(json.dumps(index.to_dict())))
            changes = MatchChanges([], [], [])
        log.append(changes)
        for match_list in (changes.added, changes.rescored):
            assert match_list == sorted(match_list, key=lambda m: m.sort_key)
        for match in changes.added:
            assert match.match_id not in announced  # announced once
            announced[match.match_id] = match
        for withdrawn in changes.withdrawn:
            assert announced.pop(withdrawn, None) is not None  # only what was announced
        for match in changes.rescored:
            assert announced[match.match_id] != match  # a rescore changes something
            announced[match.match_id] = match
        assert index.answers() == [final_answers[key] for key in sorted(final_answers)]
        assert index.profiles() == [final_profiles[org] for org in sorted(final_profiles)]
        expected = compute_matches(final_answers.values(), final_profiles.values())
        assert sorted(announced.values(), key=lambda m: m.sort_key) == expected
        assert index.matches() == expected
        assert all(m.need.organization_id != m.offer.organization_id for m in expected)
    return index, log


@settings(max_examples=200, deadline=None)
@given(operations())
def test_incremental_changes_add_up_to_a_recomputation_from_scratch(
    ops: list[tuple[Any, ...]],
) -> None:
    index, log = run(ops)
    # deterministic: the same operations give the same changes, in the same order
    again, again_log = run(ops)
    assert again_log == log
    assert again.to_dict() == index.to_dict()
    # idempotent: every record applied once more changes nothing
    for record in index.profiles():
        assert index.apply_profile(record).empty
    for held in index.answers():
        assert index.apply_answer(held).empty


@settings(max_examples=100, deadline=None)
@given(operations())
def test_the_order_of_loading_records_does_not_matter(ops: list[tuple[Any, ...]]) -> None:
    index, _ = run(ops)
    rebuilt = MatchIndex.from_records(reversed(index.answers()), reversed(index.profiles()))
    assert rebuilt.matches() == index.matches()
    for org in ORGS:
        assert rebuilt.matches(organization_id=org) == [
            m for m in index.matches() if org in (m.need.organization_id, m.offer.organization_id)
        ]
    for enc in ENCUENTROS:
        assert rebuilt.matches(encuentro_id=enc) == [
            m for m in index.matches() if enc in (m.need.encuentro_id, m.offer.encuentro_id)
        ]
