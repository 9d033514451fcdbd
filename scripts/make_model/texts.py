"""The texts whose reference tokens and embeddings become the encoder's test vectors.

Handwritten texts (Italian with and without accents, typos, English, emoji,
mixed scripts, odd spacing, a text of more than 600 tokens) plus variants of
the sample sheets' questions, all deterministic.
"""
import glob
import os
import tomllib

HANDWRITTEN = [
    "Come si richiede la carta rosa?",
    "come si richiede la carta rosa",
    "Quali documenti servono per il passo carraio?",
    "Quanto costa il rilascio del tesserino venatorio?",
    "Vorrei sapere gli orari dell'URP, grazie.",
    "Perché la mia domanda non è ancora stata accolta?",
    "perche la mia domanda non e ancora stata accolta",
    "C'è una buca enorme in via Roma, chi devo chiamare?",
    "ce una buca enorme in via roma chi devo chiamare",
    "Dove si trova la sede? Come ci arrivo con la metropolitana?",
    "Posso pagare con PagoPA anche di sabato?",
    "L'ufficio è chiuso ad agosto?",
    "È possibile prenotare un appuntamento on-line?",
    "E possibile prenotare un appuntamento on line?",
    "Si può usare la palestra della scuola per un torneo di pallavolo?",
    "Mi serve la licenza di pesca: cosa devo fare?",
    "Ho ricevuto una multa ingiusta e voglio fare reclamo.",
    "Il mio vicino brucia rifiuti in giardino, a chi lo segnalo?",
    "Vorrei diventare volontario della protezione civile.",
    "Quando esce la graduatoria del concorso per istruttore amministrativo?",
    "Qual è il numero verde?",
    "Qual'è il numero verde?",
    "qual e il numero verde",
    "Buongiorno, avrei bisogno di un'informazione sull'accesso agli atti.",
    "Accesso civico generalizzato: entro quanti giorni rispondete?",
    "Chi è il responsabile della protezione dei dati?",
    "La mia auto è stata danneggiata da una buca: come chiedo il risarcimento?",
    "Devo installare un'insegna luminosa sul negozio, serve l'autorizzazione?",
    "Informazioni su bandi e contributi per le associazioni sportive",
    "Cerco lavoro: ci sono selezioni di mobilità aperte?",
    # typos
    "come si richiede la carat rosa?",
    "qunato costa il tesserino venatrio",
    "orrari dell ufficio relazioni col pubblco",
    "vorei sapere come fare la domanda per il servizo civile",
    "dove si pga la tassa per il trasporto ecezionale",
    "c'e una buca in strda, cosa devo fare???",
    "la palestra dela scuola e disponibile il sabbato?",
    "licensa di pesca scaduta, come la rinnovo",
    "informazzioni sul bollino caldaia",
    "protezzione civile allerta meteo oggi",
    # shouting, numbers, punctuation, urls
    "COME SI RICHIEDE LA CARTA ROSA???",
    "URGENTE!!! STRADA CHIUSA PER FRANA",
    "Il bollino costa 10,50 € o 12 €?",
    "Telefono: 800 000 000, fax 02-7740.1234",
    "Scrivete a urp@example.it oppure visitate https://www.example.it/urp?x=1&y=2",
    "Legge 7 agosto 1990, n. 241, artt. 22-28 (accesso documentale)",
    "D.Lgs. 33/2013 art. 5 c. 2",
    "Orari: lun-gio 9:00-12:30 / 14:00-16:00; ven 9:00-12:30.",
    "...???!!!",
    "«Virgolette» e “apici curvi” e ‘singoli’ — con trattino lungo – e medio",
    "1234567890",
    "n° 42, 3ª fila, 1º piano, 50% di sconto, 2°C",
    # emoji
    "😀",
    "😀😀😀🙏🏻👍",
    "Grazie mille! 🙏",
    "La strada è allagata 🌧️🚗, aiuto!",
    "Ciao 👋 come posso pagare? 💶💳",
    "❤️ Milano ❤️",
    "👨‍👩‍👧‍👦 famiglia numerosa: ci sono agevolazioni?",
    "🇮🇹🇪🇺",
    "✅ fatto ❌ non fatto ⚠️ attenzione",
    "🤔🤔🤔 non ho capito",
    # mixed scripts and other languages
    "Привет, я хочу получить карту",
    "Γεια σας, πού είναι το γραφείο;",
    "مرحبا، أين يقع المكتب؟",
    "你好，我想申请粉红卡。",
    "こんにちは、事務所はどこですか？",
    "안녕하세요, 사무실이 어디에 있나요?",
    "नमस्ते, कार्यालय कहाँ है?",
    "שלום, איפה המשרד?",
    "Buongiorno, mi chiamo 李明 e vorrei la carta rosa",
    "Il mio nome è Ολυμπία, ho bisogno dell'ISEE",
    "Zdravo, treba mi dozvola za ribolov",
    "Dzień dobry, gdzie jest biuro? Łódź, Gdańsk, żółć",
    "Bonjour, où se trouve le bureau? Ça coûte combien?",
    "Guten Tag, wo ist das Büro? Straße, Größe, Äpfel",
    "¿Dónde está la oficina? Mañana, señor",
    "Olá, onde fica o escritório? Ação, coração",
    "Merhaba, ofis nerede? İstanbul, ağaç, şeker",
    "Bună ziua, unde este biroul? Țară, școală",
    "Dobrý den, kde je úřad? Příliš žluťoučký kůň",
    "Hei, missä toimisto on? Hyvää päivää",
    "Ħallo, fejn hu l-uffiċċju? ġnien",
    "Halló, hvar er skrifstofan? Þórður, Ægir",
    "Ṫhe ṗḧonetic ḁccents of Vietnamese: Tiếng Việt, Hà Nội, Đà Nẵng",
    "ﬁnestra ﬂusso Ⅻ ① ㎏ ｆｕｌｌｗｉｄｔｈ",
    "x² + y³ = z½, H₂O, µg, Ω, ℃",
    # English
    "How do I apply for the pink card?",
    "What are the opening hours of the public relations office?",
    "Is the office open on Saturday afternoon?",
    "I would like to report a pothole on the provincial road.",
    "Can I pay the fee online with a credit card?",
    "Where is the nearest parking?",
    "Thanks a lot, you've been very helpful!",
    "The quick brown fox jumps over the lazy dog.",
    # whitespace and odd input
    "",
    " ",
    "     ",
    "\t\n",
    "  spazi   multipli    tra   le parole  ",
    "a capo\nnuova riga\r\naltra riga",
    "tab\tseparati\tvalori",
    "parola",
    "a",
    "?",
    "è",
    "È",
    "ß",
    "ǆ",
    "<s> </s> <pad> <unk>",
    "\u00a0spazio\u00a0non\u00a0separabile\u2009sottile",
    "zero\u200bwidth\u200cjoiner\u200d",
    "caffe\u0301 decomposto e caffè composto",
    "l'anagrafe, dell'ufficio, un'altra, all'URP, quest'anno, c'è",
    "sopra-elevata, anti-incendio, ex-dipendente, post-laurea",
    "(tra parentesi) [quadre] {graffe} <angolari> /barra/ \\rovescia\\",
    "ripetizioneeeeeeeeeeeeeeeeeeeeeeee",
    "abcdefghijklmnopqrstuvwxyzàèéìòùáíóúâêîôûäëïöüçñ",
    "ABCDEFGHIJKLMNOPQRSTUVWXYZÀÈÉÌÒÙ",
    "precipitevolissimevolmente",
    "sovracomunale interprovinciale metropolitano",
]


def sheet_questions(sheets_dir):
    """The questions and titles of the sample sheets, in file order."""
    out = []
    for path in sorted(glob.glob(os.path.join(sheets_dir, "*.toml"))):
        with open(path, "rb") as f:
            sheet = tomllib.load(f)
        out.append((sheet.get("title", ""), sheet.get("summary", ""), sheet.get("questions", [])))
    return out


STRIP = str.maketrans("àèéìòùÀÈÉÌÒÙ", "aeeiouAEEIOU")
EMOJI = ["🙂", "🙏", "👍", "😡", "🚗", "🏫", "📄", "💶"]


def typo(text, k):
    """A deterministic typo: swap two neighbouring letters of one word."""
    words = text.split()
    if not words:
        return text
    i = k % len(words)
    w = words[i]
    if len(w) > 3:
        j = 1 + k % (len(w) - 2)
        w = w[:j] + w[j + 1] + w[j] + w[j + 2 :]
    words[i] = w
    return " ".join(words)


def long_text(sheets):
    """A passage of well over 600 tokens: the summaries of many sheets, joined."""
    return " ".join(s for _, s, _ in sheets if s)


def all_texts(sheets_dir):
    """(text, is_query) pairs for the test vectors, in a fixed order."""
    sheets = sheet_questions(sheets_dir)
    out = [(t, True) for t in HANDWRITTEN] + [(t, False) for t in HANDWRITTEN[:40]]
    k = 0
    for title, summary, questions in sheets:
        out.append((title, False))
        if questions:
            q = questions[k % len(questions)]
            out.append((q, True))
            out.append((q.lower().translate(STRIP).rstrip("?"), True))
            out.append((typo(q, k), True))
            out.append((q + " " + EMOJI[k % len(EMOJI)], True))
        k += 1
    out.append((sheets[0][1], False))
    lt = long_text(sheets)
    out.append((lt[:4000], False))  # about 900 tokens: two windows
    out.append((lt[:2400], False))  # about 550 tokens: just over one window
    return out


def sheet_texts(sheets_dir):
    """Every text field of the sample sheets, for the vocabulary pruning."""
    out = []
    for path in sorted(glob.glob(os.path.join(sheets_dir, "*.toml"))):
        with open(path, "rb") as f:
            sheet = tomllib.load(f)
        for key in ("title", "summary", "short", "body"):
            if isinstance(sheet.get(key), str):
                out.append(sheet[key])
        for key in ("questions", "keywords", "tags"):
            out += [v for v in sheet.get(key, []) if isinstance(v, str)]
    return out
