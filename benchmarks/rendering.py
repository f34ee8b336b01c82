"""Journey-map rendering speed and memory (a benchmark, not a test), and the README samples.

    python benchmarks/rendering.py [--runs 15] [--pdf-runs 5] [--rss-renders 100] [--dpi D]
    python benchmarks/rendering.py --sample docs/img/sample-map.png [--dpi 110]

The benchmark uses a realistic French map: 5 stages, ~70 post-its (steps, touchpoints,
actions, emotions with scores, pain points and opportunities with votes, KPIs), validated by
customers (marks, customer post-its, customer ratings). It prints

* cold: a fresh interpreter importing `workflows.rendering` and rendering one PNG;
* warm: the median of ``--runs`` PNG renders of the same map in this process, and of maps
  whose texts change every run (so no layout can be reused: the realistic case);
* PDF: the median of ``--pdf-runs`` A3 PDF renders;
* RSS: VmRSS (from /proc/self/status) before and after ``--rss-renders`` more PNGs, each
  with different texts, to show that memory stays flat.

PNGs use the renderer's default dpi unless ``--dpi`` is given. Wall times on a shared
machine are noisy: the CPU time of this process is printed next to them.

``--sample PATH`` writes a French sample map (a "Jeunes actifs urbains · 100% en ligne"
group) to PATH, its validated version next to it (``-validated`` before the extension) and
the other images (comparison, emotion overlay, side by side, participation) with
``-comparison``, ``-overlay``, ``-side-by-side`` and ``-participation`` suffixes.
"""

from __future__ import annotations

import time

START = time.perf_counter()  # for --cold: the import of workflows.rendering is measured

import argparse  # noqa: E402
import inspect  # noqa: E402
import io  # noqa: E402
import json  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
from collections.abc import Callable  # noqa: E402
from dataclasses import replace  # noqa: E402
from datetime import date  # noqa: E402
from pathlib import Path  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from workflows.rendering import (  # noqa: E402
    JourneyMap,
    MapLabels,
    MapNote,
    MapStage,
    alt_text,
    render_comparison,
    render_emotion_overlay,
    render_map,
    render_participation,
    render_side_by_side,
)

IMPORTED = time.perf_counter()

from PIL import Image  # noqa: E402 - after the measured import (matplotlib loads it anyway)

FRENCH = MapLabels(
    lanes={"step": "Étapes", "touchpoint": "Points de contact", "action": "Actions du client",
           "emotion": "Émotions", "pain": "Points de friction", "opportunity": "Opportunités",
           "kpi": "Indicateurs (KPI)"},
    versions={"hypothetical": "Carte hypothétique", "validated": "Carte validée"},
    marks={"confirmed": "confirmé", "corrected": "corrigé", "new": "nouveau",
           "rejected": "rejeté"},
    mark_counts={"confirmed": "confirmés : {n}", "corrected": "corrigés : {n}",
                 "new": "nouveaux : {n}", "rejected": "rejetés : {n}"},
    channels={"website": "Site web", "store": "Magasin", "email": "E-mail", "sms": "SMS",
              "social": "Réseaux sociaux", "phone": "Téléphone", "chat": "Chat",
              "ads": "Publicité", "reviews": "Avis clients", "app": "Appli mobile",
              "sales_rep": "Commercial", "support": "Service client"},
    more="+{n} de plus",
    votes="{n} votes",
    vote_one="{n} vote",
    empty="Aucun post-it pour l'instant",
    no_stages="Aucune étape pour l'instant",
    customer_type="Type de client",
    channel_focus="Focus canal",
    customers="Clients",
    customer="client",
    confirmed_by="{n}× « c'est moi »",
    team_curve="Équipe (moyenne)",
    review_legend="Relecture client :",
    postits="{n} post-it",
    postit_one="{n} post-it",
    more_stages="+{n} étapes de plus",
    date="{day} {month} {year}",
    months=("janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août",
            "septembre", "octobre", "novembre", "décembre"),
    decimal=",",
    quote="« {text} »",
    comparison_title="Ce que les clients ont changé",
    not_reviewed="non relu",
    side_by_side_title="Même client, canaux différents",
    top_pain="Principal point de friction",
    overlay_title="Parcours émotionnel par groupe",
    stage="Étape {n}",
    alt_fact="{label} : {value}.",
    alt_stages="{n} étapes : {names}.",
    alt_postits="{n} post-it ({details}).",
    alt_lowest="Moment le plus difficile : {stage} ({score}){quote}.",
    alt_customer_lowest="Moment le plus difficile pour les clients : {stage} ({score}).",
    alt_top_pain="Principal point de friction : {text} ({votes}, {stage}).",
    alt_review="Relecture client : {details}.",
)
"""French labels, as the Slack layer would build them from its catalog."""


def N(kind: str, text: str, **kw) -> MapNote:  # noqa: N802 - reads like a post-it
    return MapNote(kind, text, **kw)


def french_map() -> JourneyMap:
    """A realistic hypothetical map: 5 stages, ~60 post-its, emotions and votes."""
    stages = (
        MapStage("Prise de conscience", (
            N("step", "Voit une publicité Instagram pour l'offre jeunes actifs", author="Camille"),
            N("step", "Entend parler de la marque par un collègue", author="Hugo"),
            N("touchpoint", "Story sponsorisée", channel="social", author="Camille"),
            N("touchpoint", "Article comparatif sur un blog", channel="website"),
            N("touchpoint", "Bouche-à-oreille au travail", channel="bouche-à-oreille"),
            N("action", "Clique sur la pub puis ferme l'appli", author="Léa"),
            N("action", "Cherche la marque sur Google", author="Hugo"),
            N("emotion", "Curieux, sans plus", score=1, author="Léa"),
            N("emotion", "« Encore une pub… »", score=0, author="Mehdi"),
            N("emotion", "Intrigué par le prix affiché", score=1, author="Camille"),
            N("pain", "Message trop générique : on ne comprend pas l'offre", votes=6,
              author="Mehdi"),
            N("pain", "Trop de pubs répétées, effet de saturation", votes=3),
            N("opportunity", "Témoignages de vrais clients de 25-35 ans dans les pubs",
              votes=7, author="Léa"),
            N("kpi", "Taux de clic des campagnes sociales"),
            N("kpi", "Notoriété assistée (baromètre trimestriel)"),
        )),
        MapStage("Considération", (
            N("step", "Compare trois offres sur des sites comparateurs", author="Hugo"),
            N("step", "Lit les avis sur Trustpilot"),
            N("touchpoint", "Comparateur en ligne", channel="reviews"),
            N("touchpoint", "Page tarifs du site", channel="website"),
            N("touchpoint", "Chat pour poser une question sur les frais", channel="chat"),
            N("action", "Ouvre dix onglets et fait un tableau", author="Camille"),
            N("action", "Demande l'avis de ses amis sur WhatsApp"),
            N("emotion", "Perdu dans les options", score=-1, author="Hugo"),
            N("emotion", "Méfiant vis-à-vis des frais cachés", score=-1),
            N("pain", "Grille tarifaire illisible, frais annexes difficiles à trouver",
              votes=11, author="Mehdi"),
            N("pain", "Le chat répond après 20 minutes", votes=5),
            N("pain", "Avis négatifs non traités par la marque", votes=2),
            N("opportunity", "Simulateur de prix en 3 questions", votes=9, author="Léa"),
            N("opportunity", "Répondre publiquement aux avis négatifs", votes=4),
            N("kpi", "Taux de rebond de la page tarifs"),
        )),
        MapStage("Achat", (
            N("step", "Crée un compte et remplit le formulaire", author="Camille"),
            N("step", "Paie en ligne par carte"),
            N("step", "Reçoit l'e-mail de confirmation"),
            N("touchpoint", "Tunnel de souscription", channel="website"),
            N("touchpoint", "E-mail de confirmation", channel="email"),
            N("touchpoint", "SMS de code de validation", channel="sms"),
            N("action", "Abandonne une première fois au justificatif de domicile"),
            N("action", "Revient le soir depuis son ordinateur"),
            N("emotion", "Agacé", score=-2, author="Mehdi"),
            N("emotion", "Formulaire interminable, je lâche", score=-2, author="Hugo"),
            N("emotion", "Soulagé quand c'est fini", score=0),
            N("pain", "Formulaire de 14 champs, impossible à finir sur mobile", votes=14,
              author="Camille"),
            N("pain", "Justificatif demandé au dernier moment", votes=8),
            N("pain", "Code SMS expiré trop vite", votes=3),
            N("opportunity", "Pré-remplissage via FranceConnect", votes=10),
            N("opportunity", "Sauvegarder le formulaire pour finir plus tard", votes=6),
            N("kpi", "Taux de conversion du tunnel"),
            N("kpi", "Taux d'abandon par étape"),
        )),
        MapStage("Rétention", (
            N("step", "Utilise l'appli au quotidien"),
            N("step", "Contacte le service client pour un prélèvement"),
            N("touchpoint", "Appli mobile", channel="app"),
            N("touchpoint", "Hotline", channel="phone"),
            N("action", "Active les notifications"),
            N("emotion", "Appli fluide, content", score=2, author="Léa"),
            N("emotion", "Attente interminable au téléphone", score=-1),
            N("pain", "Temps d'attente au téléphone > 15 min", votes=7),
            N("opportunity", "Rappel automatique au lieu de l'attente", votes=5),
            N("kpi", "NPS à 3 mois"),
            N("kpi", "Taux de résiliation à 12 mois"),
        )),
        MapStage("Recommandation", (
            N("step", "Parle de l'appli à ses amis"),
            N("step", "Laisse un avis après sollicitation"),
            N("touchpoint", "E-mail de demande d'avis", channel="email"),
            N("touchpoint", "Programme de parrainage", channel="app"),
            N("action", "Partage son code parrain sur Instagram"),
            N("emotion", "Fier d'avoir trouvé le bon plan", score=1, author="Hugo"),
            N("emotion", "Bof, le parrainage rapporte peu", score=0),
            N("pain", "Parrainage peu attractif (10 €)", votes=4),
            N("opportunity", "Récompense immédiate et visible dans l'appli", votes=8),
            N("kpi", "Nombre de parrainages par mois"),
        )),
    )
    return JourneyMap(
        workshop="Atelier parcours client 2025",
        group="Groupe 2",
        customer_type="Jeunes actifs urbains",
        channel_focus="100% en ligne",
        version="hypothetical",
        made_on=date(2025, 3, 12),
        stages=stages,
    )


def validated_map(hypothetical: JourneyMap) -> JourneyMap:
    """The same map after day 2: customer marks, customer post-its and customer ratings."""
    marks = {
        "Voit une publicité Instagram pour l'offre jeunes actifs": ("confirmed", 4),
        "Entend parler de la marque par un collègue": ("confirmed", 2),
        "Compare trois offres sur des sites comparateurs": ("corrected", 3),
        "Lit les avis sur Trustpilot": ("confirmed", 5),
        "Crée un compte et remplit le formulaire": ("confirmed", 6),
        "Paie en ligne par carte": ("rejected", 0),
        "Reçoit l'e-mail de confirmation": ("confirmed", 2),
        "Utilise l'appli au quotidien": ("confirmed", 3),
        "Contacte le service client pour un prélèvement": ("corrected", 1),
        "Laisse un avis après sollicitation": ("rejected", 0),
        "Formulaire de 14 champs, impossible à finir sur mobile": ("confirmed", 6),
        "Grille tarifaire illisible, frais annexes difficiles à trouver": ("confirmed", 5),
        "Temps d'attente au téléphone > 15 min": ("confirmed", 3),
    }
    extra = {
        "Considération": [N("step", "Regarde des vidéos TikTok de comparaison", origin="customer",
                            mark="new", confirmations=3)],
        "Achat": [N("step", "Paie par virement instantané depuis l'appli bancaire",
                    origin="customer", mark="new", confirmations=2),
                  N("pain", "Aucun moyen de joindre quelqu'un pendant l'inscription",
                    origin="customer", mark="new", votes=5)],
        "Recommandation": [N("step", "Recommande seulement si on lui demande",
                             origin="customer", mark="new", confirmations=4)],
    }
    customer_scores = {"Prise de conscience": 0.4, "Considération": -0.6, "Achat": -1.7,
                       "Rétention": 0.8, "Recommandation": 0.2}
    stages = []
    for stage in hypothetical.stages:
        notes = []
        for note in stage.notes:
            mark, confirmations = marks.get(note.text, (None, 0))
            notes.append(replace(note, mark=mark, confirmations=confirmations))
        notes += extra.get(stage.name, [])
        stages.append(replace(stage, notes=tuple(notes),
                              customer_score=customer_scores[stage.name]))
    return replace(hypothetical, version="validated", made_on=date(2025, 3, 19),
                   stages=tuple(stages))


def sibling_maps() -> list[JourneyMap]:
    """The same customer type seen by two other groups: 100% offline and omnichannel."""
    def stage(name, steps, channels, emotions, pain):
        notes = [N("step", text) for text in steps]
        notes += [N("touchpoint", label, channel=key) for key, label in channels]
        notes += [N("emotion", text, score=score) for text, score in emotions]
        notes += [N("pain", pain[0], votes=pain[1])]
        return MapStage(name, tuple(notes))

    offline = (
        stage("Prise de conscience", ["Voit l'affiche en agence près du métro",
                                      "Reçoit un flyer dans sa boîte aux lettres"],
              [("store", "Vitrine d'agence"), ("ads", "Affichage métro")],
              [("Ça a l'air sérieux", 1), ("Pas le temps de passer", 0)],
              ("Horaires d'agence incompatibles avec le travail", 9)),
        stage("Considération", ["Prend rendez-vous par téléphone", "Rencontre un conseiller"],
              [("phone", "Standard"), ("sales_rep", "Conseiller en agence")],
              [("Rassuré par le conseiller", 2), ("Attente au standard", -1)],
              ("Délai de 10 jours pour un rendez-vous", 12)),
        stage("Achat", ["Signe le contrat en agence", "Apporte ses justificatifs papier"],
              [("store", "Agence"), ("sales_rep", "Conseiller")],
              [("Tout est réglé en une fois", 1), ("Oubli d'un document", -1)],
              ("Revenir une 2e fois pour un justificatif manquant", 8)),
        stage("Rétention", ["Appelle son conseiller pour chaque question"],
              [("phone", "Ligne directe du conseiller")],
              [("Relation humaine appréciée", 1), ("Conseiller souvent absent", -1),
               ("Pas de suivi après le départ du conseiller", -2)],
              ("Changement de conseiller sans prévenir", 6)),
        stage("Recommandation", ["Recommande l'agence à sa famille"],
              [("store", "Événement en agence")],
              [("Fier de son conseiller", 1)],
              ("Aucun programme de parrainage en agence", 3)),
    )
    omni = (
        stage("Prise de conscience", ["Voit une vidéo sur TikTok", "Passe devant la boutique"],
              [("social", "Vidéo TikTok"), ("store", "Boutique")],
              [("Cohérent partout, ça inspire confiance", 2), ("Curieux", 1)],
              ("Prix différents entre le site et la boutique", 7)),
        stage("Considération", ["Réserve un créneau en ligne pour un rendez-vous",
                                "Discute avec le chat puis en boutique"],
              [("chat", "Chat"), ("website", "Prise de rendez-vous"), ("store", "Boutique")],
              [("Le conseiller connaît déjà ma demande", 2), ("Trop de relances", 0)],
              ("Relances par e-mail, SMS et appel le même jour", 5)),
        stage("Achat", ["Commence en ligne, signe en boutique"],
              [("website", "Site web"), ("store", "Tablette en boutique"), ("sms", "SMS")],
              [("Reprise du dossier sans ressaisie", 2), ("Signature électronique lente", 0)],
              ("La tablette en boutique plante à la signature", 4)),
        stage("Rétention", ["Gère tout depuis l'appli, passe en boutique si besoin"],
              [("app", "Appli mobile"), ("store", "Boutique")],
              [("Fluide", 1), ("Historique boutique absent de l'appli", -1)],
              ("Historique des échanges en boutique invisible dans l'appli", 6)),
        stage("Recommandation", ["Partage son code parrain en boutique et en ligne"],
              [("app", "Appli mobile"), ("social", "Instagram")],
              [("Récompense immédiate, top", 2)],
              ("Code parrain refusé en boutique", 2)),
    )
    base = french_map()
    return [replace(base, group="Groupe 5", channel_focus="100% hors ligne", stages=offline),
            replace(base, group="Groupe 8", channel_focus="Omnicanal", stages=omni)]


def rss_kib() -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError("no VmRSS")


def write_samples(path: Path, dpi: float) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    hypothetical = french_map()
    validated = validated_map(hypothetical)
    others = sibling_maps()

    def out(suffix: str) -> Path:
        return path.with_name(f"{path.stem}{suffix}{path.suffix}")

    images = {
        path: render_map(hypothetical, FRENCH, dpi=dpi),
        out("-validated"): render_map(validated, FRENCH, dpi=dpi),
        out("-comparison"): render_comparison(hypothetical, validated, FRENCH, dpi=dpi),
        out("-overlay"): render_emotion_overlay([hypothetical, *others], FRENCH, dpi=dpi),
        out("-side-by-side"): render_side_by_side([hypothetical, *others], FRENCH, dpi=dpi),
        out("-participation"): render_participation(
            {"Marketing": 9, "Expérience client": 7, "Commercial": 6, "SAV": 5, "Produit": 4,
             "Finance": 2, "Juridique": 1}, "Participation par service", dpi=dpi,
            total="{n} participants"),
    }
    for target, data in images.items():
        target.write_bytes(data)
        print(f"wrote {target} ({len(data) // 1024} KiB)")
    print("alt text:", alt_text(hypothetical, FRENCH))
    print("alt text (validated):", alt_text(validated, FRENCH))


def reworded(m: JourneyMap, n: int) -> JourneyMap:
    """``m`` with every post-it's words rotated by ``n`` (same lengths, new strings), so
    that nothing computed for an earlier render can be reused."""
    def turn(text: str) -> str:
        words = text.split()
        k = n % len(words) if words else 0
        return " ".join(words[k:] + words[:k] + ([str(n)] if n else []))
    return replace(m, stages=tuple(
        replace(s, notes=tuple(replace(note, text=turn(note.text)) for note in s.notes))
        for s in m.stages))


def timed(render: Callable[[int], bytes], runs: int) -> tuple[float, float, bytes]:
    """Median wall and CPU seconds of ``runs`` calls ``render(i)``, and the last output."""
    walls, cpus = [], []
    data = b""
    for i in range(runs):
        wall, cpu = time.perf_counter(), time.process_time()
        data = render(i)
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
    return statistics.median(walls), statistics.median(cpus), data


def cold(dpi: float | None) -> dict:
    """Import + first render in a fresh interpreter (font files and matplotlib's font list
    are read from disk, caches are empty)."""
    out = subprocess.run([sys.executable, __file__, "--cold", *(
        ["--dpi", str(dpi)] if dpi else [])], capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def cold_child(dpi: float | None) -> None:
    m = validated_map(french_map())
    start = time.perf_counter()
    render_map(m, FRENCH, **({"dpi": dpi} if dpi else {}))
    done = time.perf_counter()
    print(json.dumps({"import": IMPORTED - START, "render": done - start,
                      "total": IMPORTED - START + done - start}))


def default_dpi() -> float:
    return inspect.signature(render_map).parameters["dpi"].default


def benchmark(runs: int, pdf_runs: int, rss_renders: int, dpi: float | None) -> None:
    dpi = dpi or default_dpi()
    m = validated_map(french_map())
    notes = sum(len(s.notes) for s in m.stages)
    print(f"map: {len(m.stages)} stages, {notes} post-its (validated); PNG at {dpi:g} dpi; "
          f"median of {runs} runs, wall (CPU)")
    c = cold(dpi)
    print(f"cold:  {c['total'] * 1000:6.0f} ms  (import {c['import'] * 1000:.0f} ms + first "
          f"render {c['render'] * 1000:.0f} ms, fresh interpreter)")
    render_map(m, FRENCH, dpi=dpi)  # warm up: fonts, glyphs
    wall, cpu, data = timed(lambda i: render_map(m, FRENCH, dpi=dpi), runs)
    with Image.open(io.BytesIO(data)) as image:
        size = f"{image.width}x{image.height} px, {len(data) // 1024} KiB"
    print(f"warm:  {wall * 1000:6.0f} ms  ({cpu * 1000:.0f} ms CPU) same map   [{size}]")
    maps = [reworded(m, i + 1) for i in range(runs)]
    wall, cpu, _ = timed(lambda i: render_map(maps[i], FRENCH, dpi=dpi), runs)
    print(f"warm:  {wall * 1000:6.0f} ms  ({cpu * 1000:.0f} ms CPU) new texts every run")
    h = french_map()
    wall, cpu, _ = timed(lambda i: render_map(h, FRENCH, dpi=dpi), runs)
    print(f"warm:  {wall * 1000:6.0f} ms  ({cpu * 1000:.0f} ms CPU) hypothetical map "
          f"({sum(len(s.notes) for s in h.stages)} post-its)")
    wall, cpu, data = timed(lambda i: render_map(m, FRENCH, fmt="pdf"), pdf_runs)
    print(f"pdf:   {wall * 1000:6.0f} ms  ({cpu * 1000:.0f} ms CPU) A3, {len(data) // 1024} KiB, "
          f"median of {pdf_runs}")
    before = rss_kib()
    samples = []
    for i in range(rss_renders):
        render_map(reworded(m, 1000 + i), FRENCH, dpi=dpi)
        if (i + 1) % 25 == 0:
            samples.append(rss_kib())
    after = rss_kib()
    print(f"RSS:   {before / 1024:.1f} MiB before -> {after / 1024:.1f} MiB after "
          f"{rss_renders} more PNGs ({(after - before) / 1024:+.1f} MiB); every 25: "
          + ", ".join(f"{s / 1024:.1f}" for s in samples))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=15, help="warm PNG renders (median)")
    parser.add_argument("--pdf-runs", type=int, default=5, help="PDF renders (median)")
    parser.add_argument("--rss-renders", type=int, default=100)
    parser.add_argument("--sample", type=Path, help="write the French sample images here")
    parser.add_argument("--dpi", type=float,
                        help="PNG dpi (default: the renderer's for the benchmark, 110 for the "
                             "samples)")
    parser.add_argument("--cold", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.cold:
        cold_child(args.dpi)
    elif args.sample:
        write_samples(args.sample, args.dpi or 110)
    else:
        benchmark(max(args.runs, 1), max(args.pdf_runs, 1), args.rss_renders, args.dpi)


if __name__ == "__main__":
    main()
