//! The business calendar (sales.md §1.9): `America/Bogota` days and the application clock at the
//! database's millisecond precision, for sales' same-day cancel, purchase-order dates and reports.

use chrono::{NaiveDate, NaiveDateTime, TimeDelta, Timelike, Utc};

/// `America/Bogota` has been UTC−5 without daylight saving since 1993, so a fixed offset gives
/// the zone's calendar day for every stored instant.
pub const BOGOTA_UTC_OFFSET_HORAS: i64 = -5;

/// The Bogotá wall clock of a UTC instant (the columns are `TIMESTAMP(3)` in UTC).
pub fn en_bogota(utc: NaiveDateTime) -> NaiveDateTime {
    utc + TimeDelta::hours(BOGOTA_UTC_OFFSET_HORAS)
}

/// The Bogotá calendar day of a UTC instant.
pub fn dia_en_bogota(utc: NaiveDateTime) -> NaiveDate {
    en_bogota(utc).date()
}

/// The UTC instant at which a Bogotá calendar day starts (00:00 local = 05:00 UTC).
pub fn inicio_del_dia_utc(dia: NaiveDate) -> NaiveDateTime {
    dia.and_hms_opt(0, 0, 0).unwrap_or_default() - TimeDelta::hours(BOGOTA_UTC_OFFSET_HORAS)
}

/// Both instants (UTC wall clock) fall on the same calendar day in `America/Bogota`.
pub fn mismo_dia_en_bogota(a: NaiveDateTime, b: NaiveDateTime) -> bool {
    dia_en_bogota(a) == dia_en_bogota(b)
}

/// The application clock at the columns' precision (`TIMESTAMP(3)`), so the instant checked is
/// the instant stored.
pub fn ahora_ms() -> NaiveDateTime {
    let t = Utc::now().naive_utc();
    t.with_nanosecond(t.nanosecond() / 1_000_000 * 1_000_000)
        .unwrap_or(t)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S").unwrap()
    }

    #[test]
    fn mismo_dia_calendario_en_bogota() {
        // 18:30 and 21:00 in Bogotá on June 22nd: different UTC days, same Bogotá day.
        assert!(mismo_dia_en_bogota(
            t("2026-06-22T23:30:00"),
            t("2026-06-23T02:00:00")
        ));
        // 23:59:59 on the 22nd vs 00:00:00 on the 23rd (Bogotá): same UTC day, different here.
        assert!(!mismo_dia_en_bogota(
            t("2026-06-23T04:59:59"),
            t("2026-06-23T05:00:00")
        ));
        assert!(mismo_dia_en_bogota(
            t("2026-06-23T05:00:00"),
            t("2026-06-24T04:59:59")
        ));
        assert!(!mismo_dia_en_bogota(
            t("2026-06-22T12:00:00"),
            t("2026-06-23T12:00:00")
        ));
    }

    #[test]
    fn inicio_del_dia() {
        let d = NaiveDate::from_ymd_opt(2026, 6, 23).unwrap();
        assert_eq!(inicio_del_dia_utc(d), t("2026-06-23T05:00:00"));
        assert_eq!(dia_en_bogota(inicio_del_dia_utc(d)), d);
        assert_eq!(
            dia_en_bogota(inicio_del_dia_utc(d) - TimeDelta::milliseconds(1)),
            d.pred_opt().unwrap()
        );
    }

    #[test]
    fn ahora_con_milisegundos() {
        assert_eq!(ahora_ms().nanosecond() % 1_000_000, 0);
    }
}
