"""The demo destination's answer library: what a seaside tourist office is asked every evening,
in French, English, German, Dutch, Spanish and Italian — some texts missing, so the picker's
fallback shows, and some answers kept to one office."""

from __future__ import annotations

from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.clock import Clock
from app.models import Answer, AnswerStatus, AnswerText, Office

# (shortcut, office slug or None, title, tags, {language: text})
ANSWERS: tuple[tuple[str, str | None, str, str, dict[str, str]], ...] = (
    (
        "phare",
        "port-argent",
        "Phare de Port-Argent : horaires",
        "phare visite horaires",
        {
            "fr": "Bonjour {visitor_name}, le phare de Port-Argent se visite tous les jours de "
            "10:00 à 18:30 (dernière montée 18:00), 4 € par adulte, gratuit pour les moins de "
            "12 ans. Notre office rouvre {next_opening}.",
            "en": "Hello {visitor_name}, the Port-Argent lighthouse is open every day from 10:00 "
            "to 18:30 (last climb 18:00): €4 per adult, free under 12. Our office reopens "
            "{next_opening}.",
            "de": "Hallo {visitor_name}, der Leuchtturm von Port-Argent ist täglich von 10:00 bis "
            "18:30 geöffnet (letzter Aufstieg 18:00), 4 € pro Erwachsenem, unter 12 Jahren "
            "frei. Unser Büro öffnet wieder {next_opening}.",
            "nl": "Hallo {visitor_name}, de vuurtoren van Port-Argent is elke dag open van 10:00 "
            "tot 18:30 (laatste beklimming 18:00), € 4 per volwassene, gratis onder 12 jaar.",
            "es": "Hola {visitor_name}, el faro de Port-Argent abre todos los días de 10:00 a "
            "18:30 (última subida 18:00), 4 € por adulto, gratis para menores de 12 años.",
            "it": "Buongiorno {visitor_name}, il faro di Port-Argent è aperto tutti i giorni "
            "dalle 10:00 alle 18:30 (ultima salita 18:00), 4 € a persona, gratis sotto i 12 anni.",
        },
    ),
    (
        "marees",
        None,
        "Horaires des marées",
        "marees plage peche",
        {
            "fr": "Les horaires des marées de la Baie d'Argent sont affichés devant chaque office "
            "et sur le site du SHOM (port de référence : Port-Argent). Attention, la mer monte "
            "vite dans la baie : renseignez-vous avant la pêche à pied.",
            "en": "Tide times for the Baie d'Argent are posted outside every tourist office and "
            "on the SHOM website (reference port: Port-Argent). The tide comes in fast in the "
            "bay: check before going shellfishing.",
            "de": "Die Gezeiten der Baie d'Argent hängen vor jedem Büro aus und stehen auf der "
            "Website des SHOM (Bezugshafen: Port-Argent). Die Flut kommt in der Bucht schnell!",
            "nl": "De getijden van de Baie d'Argent hangen bij elk kantoor en staan op de website "
            "van de SHOM (referentiehaven: Port-Argent). Het water komt snel op in de baai.",
        },
    ),
    (
        "velo",
        None,
        "Location de vélos",
        "velo location balade",
        {
            "fr": "Vous pouvez louer un vélo (classique ou électrique) chez Cycles de la Baie, "
            "quai des Pêcheurs à Port-Argent, de 9:00 à 19:00 : à partir de 12 € la demi-journée.",
            "en": "You can rent a bike (regular or electric) at Cycles de la Baie, quai des "
            "Pêcheurs in Port-Argent, 9:00–19:00: from €12 for half a day.",
            "de": "Fahrräder (auch E-Bikes) vermietet Cycles de la Baie, quai des Pêcheurs in "
            "Port-Argent, 9:00–19:00: ab 12 € pro halben Tag.",
            "nl": "Fietsen (ook elektrisch) huurt u bij Cycles de la Baie, quai des Pêcheurs in "
            "Port-Argent, 9:00–19:00: vanaf € 12 per halve dag.",
            "es": "Puede alquilar una bicicleta (normal o eléctrica) en Cycles de la Baie, quai "
            "des Pêcheurs, Port-Argent, de 9:00 a 19:00: desde 12 € medio día.",
        },
    ),
    (
        "bac",
        None,
        "Bac pour l'île aux Oiseaux",
        "bac bateau ile traversee",
        {
            "fr": "Le bac pour l'île aux Oiseaux part du port de Saint-Clair toutes les heures "
            "de 8:00 à 19:00 (traversée 20 min, 9 € aller-retour). Billets à l'embarcadère.",
            "en": "The ferry to the île aux Oiseaux leaves Saint-Clair harbour every hour from "
            "8:00 to 19:00 (20-minute crossing, €9 return). Tickets at the pier.",
            "de": "Die Fähre zur île aux Oiseaux fährt stündlich von 8:00 bis 19:00 ab dem Hafen "
            "Saint-Clair (20 Minuten, 9 € hin und zurück). Tickets am Anleger.",
            "it": "Il traghetto per l'île aux Oiseaux parte dal porto di Saint-Clair ogni ora "
            "dalle 8:00 alle 19:00 (20 minuti, 9 € andata e ritorno).",
        },
    ),
    (
        "marche",
        None,
        "Marchés de la baie",
        "marche produits locaux",
        {
            "fr": "Marchés : Port-Argent le mercredi et le samedi matin, Saint-Clair le jeudi "
            "matin, Les Salines le dimanche matin (et nocturne le mardi en juillet-août).",
            "en": "Markets: Port-Argent on Wednesday and Saturday mornings, Saint-Clair on "
            "Thursday morning, Les Salines on Sunday morning (and a night market on Tuesdays in "
            "July and August).",
            "de": "Märkte: Port-Argent mittwochs und samstags vormittags, Saint-Clair donnerstags, "
            "Les Salines sonntags (Nachtmarkt dienstags im Juli und August).",
            "es": "Mercados: Port-Argent miércoles y sábado por la mañana, Saint-Clair el jueves, "
            "Les Salines el domingo (mercado nocturno los martes en julio y agosto).",
        },
    ),
    (
        "parking",
        None,
        "Stationnement",
        "parking voiture camping-car",
        {
            "fr": "Parkings gratuits : parking du Phare (Port-Argent) et parking des Dunes "
            "(Saint-Clair), à 5 minutes à pied des plages. Les camping-cars ont une aire aux "
            "Salines (8 € la nuit).",
            "en": "Free car parks: the Lighthouse car park (Port-Argent) and the Dunes car park "
            "(Saint-Clair), 5 minutes' walk from the beaches. Motorhomes have an area at Les "
            "Salines (€8 a night).",
            "de": "Kostenlose Parkplätze: Parking du Phare (Port-Argent) und Parking des Dunes "
            "(Saint-Clair), 5 Minuten zu Fuß zum Strand. Wohnmobilstellplatz in Les Salines "
            "(8 € pro Nacht).",
            "nl": "Gratis parkeren: parking du Phare (Port-Argent) en parking des Dunes "
            "(Saint-Clair), 5 minuten lopen naar het strand. Camperplaats in Les Salines (€ 8 "
            "per nacht).",
            "es": "Aparcamientos gratuitos: parking du Phare (Port-Argent) y parking des Dunes "
            "(Saint-Clair), a 5 minutos a pie de las playas.",
            "it": "Parcheggi gratuiti: parking du Phare (Port-Argent) e parking des Dunes "
            "(Saint-Clair), a 5 minuti a piedi dalle spiagge.",
        },
    ),
    (
        "horaires",
        None,
        "Horaires de l'office",
        "horaires ouverture office",
        {
            "fr": "Bonjour {visitor_name}, ici {adviser_name} de l'{office}. Nous rouvrons "
            "{next_opening} ; vous pouvez nous écrire ici à tout moment.",
            "en": "Hello {visitor_name}, this is {adviser_name} at the {office}. We reopen "
            "{next_opening}; you can write to us here at any time.",
            "de": "Hallo {visitor_name}, hier ist {adviser_name} vom {office}. Wir öffnen wieder "
            "{next_opening}; Sie können uns hier jederzeit schreiben.",
            "nl": "Hallo {visitor_name}, u spreekt met {adviser_name} van het {office}. We gaan "
            "weer open {next_opening}.",
            "es": "Hola {visitor_name}, le atiende {adviser_name} de la {office}. Volvemos a "
            "abrir {next_opening}.",
            "it": "Buongiorno {visitor_name}, sono {adviser_name} dell'{office}. Riapriamo "
            "{next_opening}.",
        },
    ),
    (
        "salines",
        "les-salines",
        "Visite des marais salants",
        "sel marais visite",
        {
            "fr": "Les visites guidées des marais salants partent de la maison du Sel à 10:30 et "
            "15:00 (du mardi au samedi, 1 h 30, 8 €). Réservation conseillée en été.",
            "en": "Guided tours of the salt marshes leave the Maison du Sel at 10:30 and 15:00 "
            "(Tuesday to Saturday, 1 h 30, €8). Booking advised in summer.",
            "de": "Führungen durch die Salzgärten beginnen am Maison du Sel um 10:30 und 15:00 "
            "(Dienstag bis Samstag, 1,5 Std., 8 €).",
        },
    ),
    (
        "plage-chiens",
        "saint-clair",
        "Chiens sur la plage",
        "chien plage animaux",
        {
            "fr": "À Saint-Clair, les chiens sont admis en laisse sur la plage des Dunes toute "
            "l'année, et interdits sur la Grande Plage du 1er juin au 15 septembre.",
            "en": "In Saint-Clair, dogs on a lead are welcome on the Dunes beach all year, and "
            "not allowed on the Grande Plage from 1 June to 15 September.",
            "nl": "In Saint-Clair zijn honden aangelijnd welkom op het strand des Dunes, en van 1 "
            "juni tot 15 september niet toegestaan op de Grande Plage.",
        },
    ),
    (
        "hebergement",
        None,
        "Hébergements disponibles",
        "hotel camping chambre hebergement",
        {
            "fr": "Les disponibilités des hôtels, campings et chambres d'hôtes sont sur notre "
            "site, rubrique « Dormir », mises à jour chaque soir par les hébergeurs.",
            "en": "Availability of hotels, campsites and B&Bs is on our website under "
            "“Where to stay”, updated every evening by the owners.",
            "de": "Freie Hotels, Campingplätze und Gästezimmer finden Sie auf unserer Website "
            "unter „Übernachten“, jeden Abend aktualisiert.",
            "nl": "Beschikbaarheid van hotels, campings en B&B's vindt u op onze website onder "
            "„Overnachten”, elke avond bijgewerkt.",
            "es": "La disponibilidad de hoteles, campings y casas rurales está en nuestra web, "
            "sección «Dormir», actualizada cada tarde.",
            "it": "La disponibilità di hotel, campeggi e B&B è sul nostro sito, sezione "
            "«Dormire», aggiornata ogni sera.",
        },
    ),
    (
        "bus",
        None,
        "Navette des plages",
        "bus navette transport",
        {
            "fr": "La navette gratuite des plages relie Port-Argent, Saint-Clair et Les Salines "
            "toutes les 30 minutes de 9:00 à 20:00 en juillet et août.",
            "en": "The free beach shuttle links Port-Argent, Saint-Clair and Les Salines every "
            "30 minutes from 9:00 to 20:00 in July and August.",
        },
    ),
    (
        "merci",
        None,
        "Remerciement et au revoir",
        "politesse fin",
        {
            "fr": "Merci {visitor_name}, bon séjour en Baie d'Argent !",
            "en": "Thank you {visitor_name}, enjoy your stay in the Baie d'Argent!",
            "de": "Danke {visitor_name}, einen schönen Aufenthalt in der Baie d'Argent!",
            "nl": "Bedankt {visitor_name}, een fijn verblijf in de Baie d'Argent!",
            "es": "¡Gracias {visitor_name}, disfrute de su estancia en la Baie d'Argent!",
            "it": "Grazie {visitor_name}, buon soggiorno nella Baie d'Argent!",
        },
    ),
)


async def seed_demo(session: AsyncSession, destination_id: int) -> None:
    """Adds the demo answers the destination does not have yet (by shortcut): idempotent."""
    have = set(
        (
            await session.exec(
                select(Answer.shortcut).where(Answer.destination_id == destination_id)
            )
        ).all()
    )
    offices = {
        o.slug: o.id
        for o in (
            await session.exec(select(Office).where(Office.destination_id == destination_id))
        ).all()
    }
    now = Clock().now()
    for shortcut, office_slug, title, tags, texts in ANSWERS:
        if shortcut in have or (office_slug is not None and office_slug not in offices):
            continue
        answer = Answer(
            destination_id=destination_id,
            office_id=offices[office_slug] if office_slug else None,
            title=title,
            shortcut=shortcut,
            tags=tags,
            status=AnswerStatus.APPROVED,
            created_at=now,
            updated_at=now,
        )
        session.add(answer)
        await session.flush()
        assert answer.id is not None
        for language, text in texts.items():
            session.add(AnswerText(answer_id=answer.id, language=language, text=text))
    await session.commit()
