"""The words the email reader knows: mail providers, top-level domains, prose words that are never
part of a spoken address, and the cue phrases that say which of several addresses a person means."""

from __future__ import annotations

# --- Vocabulary ------------------------------------------------------------------------------------

_AT_WORDS = ("at", "arobase", "arroba", "chiocciola")
_DOT_WORDS = ("dot", "point", "punto", "punkt", "ponto")


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


# Generic TLDs people actually have addresses under; every two-letter ccTLD is accepted separately.
_GTLDS = _words(
    """
    com net org edu gov mil int info biz name pro mobi asia tel travel jobs museum aero coop cat post
    io ai app dev tech online site website store shop blog cloud digital email media news live life
    world today space studio design agency solutions services consulting company business group
    global network systems software club team works work tools center centre academy school
    education university institute foundation partners ventures capital finance fund money bank
    insurance legal law health care clinic fitness coach training marketing social community events
    photography photo video music art gallery fashion style beauty travel tours restaurant cafe bar
    pizza wine coffee green eco energy solar earth city london paris berlin nyc tokyo amsterdam
    madrid barcelona vegas miami boston wien koeln hamburg bayern quebec brussels swiss gmbh ltd llc
    inc sarl xyz top win vip one plus best cool fun guru expert rocks ninja zone land love family
    help support how page link click host press report review reviews market markets trade trading
    exchange estate properties realty homes house immo build construction engineering industries
    management marketing productions film movie games game gg tv fm am me ly to co us uk eu
    """
)

# For spoken forms ("dot com") only the TLDs people commonly say out loud: many two-letter ccTLDs are
# also English words ("dot it", "dot me", "dot in") and would invent addresses from prose.
_SPOKEN_TLDS = _words(
    """
    com net org edu gov io ai co app dev info biz me tech online email
    uk us ca au nz ie fr de es it pt br mx ar cl pe ch at be nl lu se no dk fi pl cz sk hu ro gr
    ru ua tr il in sg hk jp cn kr tw za ng ke ma eu
    """
)

# Mail providers: "jane at gmail.com" is an address; "developer at acme.com" is usually a job.
_PROVIDERS = _words(
    """
    gmail googlemail yahoo ymail rocketmail hotmail outlook live msn icloud me mac aol proton
    protonmail pm gmx web t-online freenet orange wanadoo free sfr laposte bbox libero virgilio
    tiscali alice tim fastwebnet yandex mail zoho fastmail hey tutanota tuta uol bol terra sapo
    telefonica movistar btinternet sky comcast verizon att bluewin sunrise hushmail mailbox posteo
    """
)

# Words that surround a spoken "at"/"dot" in ordinary sentences and are (almost) never the local part
# or a domain label of an address someone spells out: pronouns, determiners, verbs of place and
# looking, "at least"-type phrases, time words and job titles ("head of growth at acme dot com").
_PROSE_WORDS = _words(
    """
    a an the this that these those there here it its i me my mine you your yours he him his she her
    hers we us our ours they them their theirs who whom which what where when why how one ones some
    any all both each every everyone someone anyone nobody everybody somebody people guys folks
    be am is are was were been being do does did done have has had get gets got getting go goes went
    going come comes came coming look looks looked looking see sees saw seen stare staring glance
    laugh laughing smile smiling point pointing aim aimed arrive arrived arriving stay staying stayed
    live lives lived living work works worked working meet meets met meeting call calls called start
    starts started end ends ended stop stops stopped begin begins began sit sitting stand standing
    wait waiting be available based located reach contact find
    least most last first once home office school college university noon night midnight morning
    evening afternoon dawn dusk lunch dinner breakfast times time moment present best worst ease
    risk hand heart odds stake large sea war peace rest length random will large work play church
    now then still just only even also already again later soon today tonight tomorrow yesterday
    good great nice bad better fine well back out up down off on in of for to from by with into
    and or but not no yes so if as than too very really quite
    job role position engineer developer designer manager director head lead intern student ceo
    cto cfo coo vp founder cofounder partner consultant analyst researcher professor teacher
    team company startup agency firm
    """
)

# --- Cues: which address the person means ----------------------------------------------------------

_POS, _WEAK, _NEG, _OTHER, _FIX = "pos", "weak", "neg", "other", "fix"
_SCORES = {_POS: 2, _WEAK: 1, _NEG: -3, _OTHER: -2, _FIX: 0}

# Phrases are written folded (lower case, no accents: the text is folded the same way before matching).
_LEAD_CUES: dict[str, str] = {}
_TAIL_CUES: dict[str, str] = {}


def _add(table: dict[str, str], category: str, phrases: str) -> None:
    for phrase in phrases.split("|"):
        table[" ".join(phrase.split())] = category


_add(
    _LEAD_CUES,
    _POS,
    "use|please use|use this|use this one|send it to|send to|send it over to|send the guide to|"
    "email me at|reach me at|my email is|my email|my e-mail|my mail|my address|email|e-mail|mail|"
    "work email|work e-mail|business email|professional email|rather|or rather|instead|actually|"
    "prefer|i prefer|preferably|better|best|the right one|correct one|correct email|new email|"
    "updated|new one|new address|my new email|here it is|here|here's|here you go|"
    "utilisez|utilise|envoyez|envoie|envoyez-le a|mon mail|mon adresse|mon e-mail|mon email|"
    "mon courriel|plutot|en fait|finalement|voici|a la place|mieux|mail pro|adresse pro|"
    "usa|usad|envialo a|envia|mandalo a|mandamelo a|mi correo|mi email|mi mail|mi correo es|mejor|"
    "en realidad|de hecho|aqui tienes|mas bien|correo del trabajo|"
    "nimm|nutze|verwende|schick|schick es an|sende|meine e-mail|meine mail|meine adresse|"
    "meine e-mail-adresse|lieber|besser|stattdessen|eigentlich|hier|"
    "envie|envia para|manda|manda para|meu email|meu e-mail|o meu email|melhor|na verdade|"
    "em vez disso|prefiro|"
    "usate|invia|mandalo a|la mia mail|la mia email|il mio indirizzo|meglio|piuttosto|invece|anzi|"
    "in realta",
)
_add(
    _LEAD_CUES,
    _WEAK,
    "but|work|pro|professional|business|mais|pero|aber|sondern|mas|ma|travail|trabajo|arbeit|trabalho|lavoro",
)
_add(
    _LEAD_CUES,
    _NEG,
    "not|not to|don't use|do not use|dont use|don't send|do not send|don't send it to|never|"
    "no longer|old|my old|old email|my old email|old address|previous|previous email|former|wrong|"
    "instead of|rather than|not this one|"
    "pas|n'utilisez pas|ne pas utiliser|pas a|pas sur|ancien|ancienne|mon ancien|au lieu de|plutot que|"
    "no uses|no use|no usar|no a|antiguo|antigua|viejo|en vez de|en lugar de|"
    "nicht|nicht an|nicht die|alte|alten|meine alte|statt|anstatt|"
    "nao|nao use|antigo|em vez de|ao inves de|"
    "non|non usare|vecchio|vecchia|invece di|anziche",
)
_add(
    _LEAD_CUES,
    _OTHER,
    "cc|c.c.|in cc|copy|in copy|my assistant|assistant|my ea|secretary|my secretary|colleague|"
    "my colleague|coworker|co-worker|my boss|my manager|my team|my partner|my wife|my husband|"
    "his email|her email|their email|his|her|"
    "mon assistant|mon assistante|ma collegue|mon collegue|en copie|mon associe|son mail|"
    "mi asistente|mi companero|mi companera|con copia|en copia|mi jefe|mi jefa|"
    "meine assistentin|mein assistent|kollege|kollegin|in kopie|mein chef|meine chefin|"
    "minha assistente|meu assistente|meu colega|minha colega|em copia|com copia|"
    "la mia assistente|il mio assistente|il mio collega|la mia collega|in copia",
)
# Corrections after an earlier address ("a@x.com sorry, b@y.com").
_add(
    _LEAD_CUES,
    _FIX,
    "sorry|oops|correction|i meant|typo|wait|scratch that|my bad|pardon|desole|desolee|oups|"
    "perdon|lo siento|perdona|entschuldigung|korrektur|ich meinte|desculpa|desculpe|scusa|scusate|"
    "cioe",
)
_add(
    _TAIL_CUES,
    _POS,
    "instead|instead of|rather than|preferably|is better|is best|works best|is preferred|"
    "is the right one|is correct|is my main|is my work email|please|thanks|thank you|"
    "plutot|au lieu de|de preference|mejor|en vez de|en lugar de|preferiblemente|lieber|stattdessen|"
    "anstatt|bitte|em vez de|de preferencia|invece|invece di|anziche|preferibilmente",
)
_add(
    _TAIL_CUES,
    _NEG,
    "is old|(old)|old|old one|no longer|no longer works|doesn't work|does not work|not working|"
    "is wrong|wrong|bounces|is outdated|not in use|sorry|oops|typo|i meant|"
    "n'est plus|ne marche plus|ancien|ya no|no funciona|antiguo|nicht mehr|funktioniert nicht|alte|"
    "nao funciona|antigo|non funziona|non piu|vecchio|desole|perdon|entschuldigung|desculpa|scusa",
)
_add(_TAIL_CUES, _OTHER, "(assistant)|(my assistant)|(cc)|in cc|en copie|en copia|in kopie|em copia|in copia")


# Tail cues that only refer back to the address before them when nothing follows them in the clause.
_ADVERBS: dict[str, str] = {}
_add(
    _ADVERBS,
    _POS,
    "instead|preferably|please|thanks|thank you|plutot|de preference|mejor|preferiblemente|lieber|"
    "stattdessen|bitte|de preferencia|invece|preferibilmente",
)
