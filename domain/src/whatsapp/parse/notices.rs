//! Telling WhatsApp's own lines from people's: system notices iOS files under a name, group
//! events (in the export languages), and the group name quoted in a rename.

/// System notices that iOS files under the chat's (or contact's) name.
const SYSTEM_NOTICES: &[&str] = &[
    "Messages and calls are end-to-end encrypted",
    "Messages to this group are now secured with end-to-end encryption",
    "Messages to this chat and calls are now secured with end-to-end encryption",
    "Messages you send to this group are now secured with end-to-end encryption",
    "Nachrichten und Anrufe sind Ende-zu-Ende-verschlüsselt",
    "Los mensajes y las llamadas están cifrados de extremo a extremo",
    "As mensagens e as chamadas são protegidas com a criptografia de ponta a ponta",
    "Les messages et les appels sont chiffrés de bout en bout",
    "I messaggi e le chiamate sono crittografati end-to-end",
    "Berichten en oproepen worden end-to-end versleuteld",
    "Pesan dan panggilan terenkripsi secara end-to-end",
    "Mesajlar ve aramalar uçtan uca şifrelidir",
    "Bu gruba gönderilen mesajlar artık uçtan uca şifreleme",
    "الرسائل والمكالمات مشفرة تماماً",
    "الرسائل والمكالمات مشفرة تمامًا",
    "الرسائل والمكالمات مشفّرة",
    "الرسائل والمكالمات مشفرة",
    "پیام‌ها و تماس‌ها سرتاسر رمزگذاری",
    "پیامها و تماسها سرتاسر رمزگذاری",
    "Zprávy a hovory jsou koncově šifrované",
    "Сообщения и звонки защищены сквозным шифрованием",
];

/// The notices' first bytes: most bodies are turned away on one look-up here, before the
/// prefix comparisons (one library call each, for every message of 40 bytes or more, were
/// 6% of parsing).
const NOTICE_FIRST_BYTES: [bool; 256] = {
    let mut table = [false; 256];
    let mut i = 0;
    while i < SYSTEM_NOTICES.len() {
        table[SYSTEM_NOTICES[i].as_bytes()[0] as usize] = true;
        i += 1;
    }
    table
};

pub(super) fn is_system_notice(body: &str) -> bool {
    let b = body.as_bytes();
    b.len() >= 40
        && NOTICE_FIRST_BYTES[usize::from(b[0])]
        && SYSTEM_NOTICES.iter().any(|n| {
            let n = n.as_bytes();
            n[0] == b[0] && n[1] == b[1] && b.starts_with(n)
        })
}

/// Group events iOS writes after a U+200E mark, under the chat's name or under the actor's
/// own name (`[…] Mum: ‎Mum changed this group's icon`): phrases found anywhere in the
/// body (after the actor's name in English, before the final verb in Turkish or Persian).
const EVENT_PHRASES: &[&str] = &[
    // English
    " changed this group's icon",
    " changed this group’s icon",
    " deleted this group's icon",
    " deleted this group’s icon",
    " changed the subject",
    " changed the group name",
    " changed the group description",
    " deleted the group description",
    " created group ",
    " created this group",
    " joined using this group's invite link",
    " joined using this group’s invite link",
    " changed their phone number",
    " changed this group's settings",
    " changed this group’s settings",
    " pinned a message",
    "You're now an admin",
    "You’re now an admin",
    " added ",
    " removed ",
    // Turkish
    " bu grubun simgesini değiştirdi",
    " grup simgesini değiştirdi",
    " grubunu oluşturdu",
    " grubu oluşturdu",
    " konusunu değiştirdi",
    " grup açıklamasını değiştirdi",
    " grubun ayarlarını değiştirdi",
    " davet bağlantısıyla katıldı",
    " telefon numarasını değiştirdi",
    " kişisini ekledi",
    " kişisini çıkardı",
    // Arabic
    "غيّر صورة هذه المجموعة",
    "غير صورة هذه المجموعة",
    "قام بتغيير صورة المجموعة",
    "أنشأ المجموعة",
    "أنشأ مجموعة",
    "غيّر اسم المجموعة",
    "غير اسم المجموعة",
    "غيّر وصف المجموعة",
    "انضم باستخدام رابط الدعوة",
    // Persian
    "عکس این گروه را تغییر داد",
    "تصویر این گروه را تغییر داد",
    "گروه را ایجاد کرد",
    "گروه را ساخت",
    "نام گروه را تغییر داد",
    "موضوع را به",
    "توضیحات گروه را تغییر داد",
    "از طریق پیوند دعوت",
];

/// Events that end in a bare verb (`‎Ayşe ayrıldı`, `‎Bob left`): matched as suffixes.
const EVENT_SUFFIXES: &[&str] = &[
    " left",
    " ayrıldı",
    " ekledi",
    " çıkardı",
    " katıldı",
    " غادر",
    " غادرت",
    " خارج شد",
    " را اضافه کرد",
    " را حذف کرد",
    " hat die Gruppe verlassen",
    " ha abbandonato",
    " salió del grupo",
    " a quitté",
];

/// Arabic events that start with the verb (`‎أضاف أحمد سارة`, `‎غادر أحمد`).
const EVENT_PREFIXES: &[&str] = &[
    "أضاف ",
    "أضافك ",
    "أزال ",
    "غادر ",
    "You added ",
    "You removed ",
];

/// Whether a marked body (the mark already removed) is a group event, not typed text.
pub(super) fn is_event(body: &str) -> bool {
    body.len() <= 400
        && !body.contains('\n')
        && (EVENT_SUFFIXES.iter().any(|s| body.ends_with(s))
            || EVENT_PREFIXES.iter().any(|p| body.starts_with(p))
            || EVENT_PHRASES.iter().any(|p| body.contains(p)))
}

/// The chat's name from an iOS "created group" notice: `Mum created group “Family”`,
/// `Ahmet "Aile" grubunu oluşturdu`, `أنشأ المجموعة "العائلة"`: the first quoted text.
pub(super) fn quoted_group_name(body: &str) -> Option<&str> {
    if !(body.contains("created group")
        || body.contains("grubunu oluşturdu")
        || body.contains("المجموعة")
        || body.contains("گروه"))
    {
        return None;
    }
    let open = body.find(['"', '“', '«'])?;
    let after = &body[open..];
    let first = after.chars().next()?;
    let rest = &after[first.len_utf8()..];
    let close = rest.find(['"', '”', '»'])?;
    let name = rest[..close].trim();
    (!name.is_empty()).then_some(name)
}
