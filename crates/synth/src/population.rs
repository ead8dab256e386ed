//! Who is in the population: the organisations (region, PCNs, practices, partners), the pool of
//! test-range NHS numbers, and each person's demographics.
//!
//! Invariants: every NHS number is valid and in the 999 test range, and no two patients share one
//! (patient `i` gets the `i`-th number of a seed-dependent permutation of the valid test numbers).
//! Nothing here holds per-patient state: a person is drawn from `(seed, index)` alone.

use concord_domain::NhsNumber;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use crate::catalogue::{
    AGE_BANDS, FAMILY_NAMES, FEMALE_GIVEN, LANGUAGES, MALE_GIVEN, OLDEST_AGE, POSTCODE_INWARD_LETTERS,
    PRACTICE_NAME_PATTERNS, PRACTICE_PLACES, STREETS, TOWNS, smoking_shares,
};
use crate::util::{Day, between, chance, civil_from_day, day_from_civil, mix64, normal, pick, pick_weighted, uniform};

/// First and last nine-digit prefixes of the NHS test range (999 000 000x to 999 999 999x).
pub(crate) const TEST_RANGE: (u32, u32) = (999_000_000, 999_999_999);

/// Region, PCN and partner codes are fictitious ODS-style codes chosen not to look like live ones.
pub(crate) const REGION_CODE: &str = "Y99";
pub(crate) const REGION_NAME: &str = "West Yorkshire Synthetic Region";
pub(crate) const HOSPITAL_CODE: &str = "RZZ";
pub(crate) const HOSPITAL_NAME: &str = "Calder and Aire Hospitals NHS Trust (synthetic)";
pub(crate) const COMMUNITY_CODE: &str = "NZZ";
pub(crate) const COMMUNITY_NAME: &str = "Pennine Community Health Services (synthetic)";
/// Practices per primary care network.
pub(crate) const PRACTICES_PER_PCN: usize = 5;

pub(crate) struct Practice {
    pub code: String,
    pub name: String,
    pub pcn: usize,
    pub town: usize,
}

pub(crate) struct Pcn {
    pub code: String,
    pub name: String,
}

/// The organisation hierarchy, and each practice's share of the list (practices differ in size).
pub(crate) struct Organisations {
    pub pcns: Vec<Pcn>,
    pub practices: Vec<Practice>,
    pub practice_weights: Vec<f64>,
}

impl Organisations {
    pub(crate) fn build(seed: u64, practices: u32) -> Self {
        let mut rng = ChaCha8Rng::seed_from_u64(mix64(seed ^ 0x6f72_6761_6e69_7361));
        let practice_count = practices as usize;
        let pcn_count = practice_count.div_ceil(PRACTICES_PER_PCN);
        let pcn_towns: Vec<usize> =
            (0..pcn_count).map(|_| pick_weighted(&mut rng, &[5.0, 3.0, 2.0, 2.0, 1.5])).collect();
        let pcns = (0..pcn_count)
            .map(|index| {
                let town = TOWNS[pcn_towns[index]].name;
                let quarter = ["Central", "North", "South", "East", "West"][index % 5];
                let round = index / 5;
                let name = if round == 0 {
                    format!("{town} {quarter} PCN")
                } else {
                    format!("{town} {quarter} {} PCN", round + 1)
                };
                Pcn { code: format!("U{:05}", index + 1), name }
            })
            .collect();
        let mut practice_list = Vec::with_capacity(practice_count);
        let mut practice_weights = Vec::with_capacity(practice_count);
        for index in 0..practice_count {
            let pcn = index / PRACTICES_PER_PCN;
            let place = PRACTICE_PLACES[index % PRACTICE_PLACES.len()];
            let pattern =
                PRACTICE_NAME_PATTERNS[(index / PRACTICE_PLACES.len() + index) % PRACTICE_NAME_PATTERNS.len()];
            let mut name = pattern.replace("{}", place);
            if index >= PRACTICE_PLACES.len() * PRACTICE_NAME_PATTERNS.len() {
                name = format!("{name} {}", index / (PRACTICE_PLACES.len() * PRACTICE_NAME_PATTERNS.len()) + 1);
            }
            practice_list.push(Practice { code: format!("F{:05}", index + 1), name, pcn, town: pcn_towns[pcn] });
            // List sizes vary roughly three-fold between practices.
            practice_weights.push(normal(&mut rng, 0.0, 0.4).exp());
        }
        Self { pcns, practices: practice_list, practice_weights }
    }
}

/// The valid NHS numbers of the test range, in a seed-dependent order.
pub(crate) struct NhsNumberPool {
    prefixes: Vec<u32>,
    stride: u64,
    offset: u64,
}

impl NhsNumberPool {
    pub(crate) fn new(seed: u64) -> Self {
        let prefixes: Vec<u32> =
            (TEST_RANGE.0..=TEST_RANGE.1).filter(|prefix| NhsNumber::from_prefix(*prefix).is_some()).collect();
        let size = prefixes.len() as u64;
        // An affine permutation i -> (stride * i + offset) mod size, with stride coprime to size.
        let mut stride = (mix64(seed ^ 0x6e68_735f_6e75_6d62) % size.max(1)).max(1);
        while gcd(stride, size) != 1 {
            stride += 1;
        }
        let offset = mix64(seed.rotate_left(17)) % size.max(1);
        Self { prefixes, stride, offset }
    }

    pub(crate) fn capacity(&self) -> u64 {
        self.prefixes.len() as u64
    }

    /// The NHS number of patient `index`, unique per index below [`Self::capacity`].
    pub(crate) fn number(&self, index: u64) -> Option<NhsNumber> {
        let size = self.capacity();
        if index >= size {
            return None;
        }
        let slot =
            ((u128::from(self.stride) * u128::from(index) + u128::from(self.offset)) % u128::from(size)) as usize;
        NhsNumber::from_prefix(self.prefixes[slot])
    }
}

fn gcd(mut a: u64, mut b: u64) -> u64 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Gender {
    Female,
    Male,
    Other,
    Unknown,
}

impl Gender {
    pub(crate) fn fhir(self) -> &'static str {
        match self {
            Self::Female => "female",
            Self::Male => "male",
            Self::Other => "other",
            Self::Unknown => "unknown",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Smoking {
    Never,
    Ex,
    Current,
}

/// The preferred contact channel (domain `ContactChannel` spellings).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Channel {
    Letter,
    Email,
    Sms,
    Phone,
}

impl Channel {
    pub(crate) fn code(self) -> &'static str {
        match self {
            Self::Letter => "letter",
            Self::Email => "email",
            Self::Sms => "sms",
            Self::Phone => "phone",
        }
    }
}

/// Demographics and registration of one person.
pub(crate) struct Demographics {
    pub practice: usize,
    pub gender: Gender,
    /// Age in completed years on the generation date (as if alive).
    pub age: i32,
    pub birth: Day,
    pub death: Option<Day>,
    pub registered_from: Day,
    pub registered_until: Option<Day>,
    pub nhs_number: Option<NhsNumber>,
    /// UK Core NHS number verification status code ("01", "03", "07").
    pub nhs_verification: &'static str,
    pub local_id: String,
    pub title: Option<&'static str>,
    pub given: &'static str,
    pub middle: Option<&'static str>,
    pub family: &'static str,
    pub house_number: i32,
    pub street: &'static str,
    pub town: usize,
    pub postcode: String,
    pub landline: Option<String>,
    pub mobile: Option<String>,
    pub email: Option<String>,
    pub channel: Channel,
    pub language: Option<(&'static str, &'static str)>,
    pub interpreter: bool,
    /// An Accessible Information Standard need, e.g. "Large print".
    pub communication_need: Option<&'static str>,
    pub smoking: Smoking,
    /// For a smoker who quits during the record window, the day they became an ex-smoker.
    pub quit: Option<Day>,
}

impl Demographics {
    /// The last day on which the practice record was kept up to date (death, leaving or today).
    pub(crate) fn record_end(&self, today: Day) -> Day {
        let mut end = today;
        if let Some(death) = self.death {
            end = end.min(death);
        }
        if let Some(left) = self.registered_until {
            end = end.min(left);
        }
        end
    }

    pub(crate) fn is_registered_and_alive(&self, today: Day) -> bool {
        self.death.is_none_or(|death| death > today)
            && self.registered_from <= today
            && self.registered_until.is_none_or(|until| until >= today)
    }

    pub(crate) fn smoking_on(&self, day: Day) -> Smoking {
        match (self.smoking, self.quit) {
            (Smoking::Ex, Some(quit)) if day < quit => Smoking::Current,
            (status, _) => status,
        }
    }
}

/// Draws an age from the pyramid, then a birth date giving exactly that age on `today`.
fn draw_age_and_birth(rng: &mut ChaCha8Rng, today: Day) -> (i32, Day) {
    let band = pick_weighted(rng, &AGE_BANDS) as i32;
    let age = if band == 19 { between(rng, 95, OLDEST_AGE) } else { between(rng, band * 5, band * 5 + 4) };
    // The last birthday fell within the past 364 days; move it back `age` years.
    let last_birthday = today - between(rng, 0, 364);
    let (year, month, mut day) = civil_from_day(last_birthday);
    if month == 2 && day == 29 {
        day = 28;
    }
    (age, day_from_civil(year - age, month, day))
}

/// Share of people of this age who died in the record window (Gompertz-like, about 1.6 years'
/// worth of mortality).
fn death_share(age: i32) -> f64 {
    let yearly_mortality = (0.000_02 * (0.1 * f64::from(age)).exp()).min(0.3);
    (1.6 * yearly_mortality).min(0.5)
}

/// Share of the living who left the practice in the last two years.
fn leaving_share(age: i32) -> f64 {
    if (18..=40).contains(&age) { 0.035 } else { 0.012 }
}

/// Share of people drawn at this age who are alive and still registered on the generation date.
/// The pyramid describes everyone generated; prevalence is calibrated on those retained.
pub(crate) fn retained_share(age: i32) -> f64 {
    (1.0 - death_share(age)) * (1.0 - leaving_share(age))
}

fn female_share(age: i32) -> f64 {
    match age {
        ..=59 => 0.495,
        60..=74 => 0.52,
        75..=84 => 0.56,
        85..=94 => 0.63,
        _ => 0.72,
    }
}

fn postcode(rng: &mut ChaCha8Rng, town: usize) -> String {
    let area = &TOWNS[town];
    let district = between(rng, 1, area.districts as i32);
    let sector = between(rng, 1, 9);
    let first = char::from(*pick(rng, POSTCODE_INWARD_LETTERS));
    let second = char::from(*pick(rng, POSTCODE_INWARD_LETTERS));
    format!("{}{district} {sector}{first}{second}", area.postcode_area)
}

/// Draws one person's demographics. `nhs_number` is the number reserved for this index.
pub(crate) fn draw_demographics(
    rng: &mut ChaCha8Rng,
    today: Day,
    organisations: &Organisations,
    index: u64,
    nhs_number: Option<NhsNumber>,
) -> Demographics {
    let practice = pick_weighted(rng, &organisations.practice_weights);
    let (age, birth) = draw_age_and_birth(rng, today);
    let gender = match uniform(rng) {
        roll if roll < 0.0015 => Gender::Other,
        roll if roll < 0.0025 => Gender::Unknown,
        _ if chance(rng, female_share(age)) => Gender::Female,
        _ => Gender::Male,
    };
    let female = match gender {
        Gender::Female => true,
        Gender::Male => false,
        Gender::Other | Gender::Unknown => chance(rng, 0.5),
    };

    // Death in the last three years (mortality rises steeply with age); leaving the practice is
    // commoner in young adults. Both end the registration, so register rules are exercised.
    let death = chance(rng, death_share(age)).then(|| today - between(rng, 1, 3 * 365));
    let mut registered_until = death;
    if death.is_none() && chance(rng, leaving_share(age)) {
        registered_until = Some(today - between(rng, 1, 2 * 365));
    }
    let years_here = if chance(rng, 0.05) { 0 } else { between(rng, 1, age.clamp(1, 45)) };
    let registered_from = if years_here == 0 {
        today - between(rng, 1, 364)
    } else {
        (today - years_here * 365 - between(rng, 0, 364)).max(birth + between(rng, 7, 60))
    };
    let registered_from = match registered_until {
        Some(until) if registered_from >= until => until - between(rng, 30, 3 * 365),
        _ => registered_from,
    }
    .max(birth);

    let nhs_missing = nhs_number.is_none() || chance(rng, 0.01);
    let (nhs_number, nhs_verification) =
        if nhs_missing { (None, if chance(rng, 0.6) { "07" } else { "03" }) } else { (nhs_number, "01") };
    let practice_code = &organisations.practices[practice].code;
    let local_id = format!("{practice_code}-{:07}", index + 1);

    let given = if female { *pick(rng, FEMALE_GIVEN) } else { *pick(rng, MALE_GIVEN) };
    let middle = chance(rng, 0.45).then(|| if female { *pick(rng, FEMALE_GIVEN) } else { *pick(rng, MALE_GIVEN) });
    let family = *pick(rng, FAMILY_NAMES);
    let title = if age < 18 {
        None
    } else if chance(rng, 0.02) {
        Some("Dr")
    } else if female {
        Some(*pick(rng, &["Mrs", "Ms", "Miss", "Mrs", "Ms"]))
    } else {
        Some("Mr")
    };

    let town = if chance(rng, 0.85) {
        organisations.practices[practice].town
    } else {
        between(rng, 0, TOWNS.len() as i32 - 1) as usize
    };
    let house_number = between(rng, 1, 180);
    let street = *pick(rng, STREETS);
    let postcode = postcode(rng, town);

    let town_data = &TOWNS[town];
    let landline = chance(rng, if age >= 60 { 0.7 } else { 0.3 }).then(|| {
        let limit = 10_i32.pow(town_data.landline_digits) - 1;
        format!(
            "{}{:0width$}",
            town_data.landline_prefix,
            between(rng, 0, limit),
            width = town_data.landline_digits as usize
        )
    });
    // Ofcom drama range for mobiles: 07700 900000 to 900999.
    let mobile = chance(
        rng,
        if age < 12 {
            0.0
        } else if age >= 80 {
            0.55
        } else {
            0.9
        },
    )
    .then(|| format!("07700 900{:03}", between(rng, 0, 999)));
    let email = chance(rng, if (16..75).contains(&age) { 0.6 } else { 0.15 }).then(|| {
        let domain = if chance(rng, 0.5) { "example.com" } else { "example.org" };
        format!("{}.{}{}@{domain}", given.to_lowercase(), family.to_lowercase().replace('\'', ""), between(rng, 1, 999))
    });
    let mut channel = match pick_weighted(rng, &[0.35, 0.15, 0.40, 0.10]) {
        0 => Channel::Letter,
        1 => Channel::Email,
        2 => Channel::Sms,
        _ => Channel::Phone,
    };
    if (channel == Channel::Email && email.is_none())
        || (channel == Channel::Sms && mobile.is_none())
        || (channel == Channel::Phone && landline.is_none() && mobile.is_none())
    {
        channel = Channel::Letter;
    }
    let language = chance(rng, 0.03).then(|| {
        let weights: [f64; LANGUAGES.len()] = std::array::from_fn(|index| LANGUAGES[index].2);
        let (code, display, _) = LANGUAGES[pick_weighted(rng, &weights)];
        (code, display)
    });
    let interpreter = language.is_some() && chance(rng, 0.6);
    let communication_need = if language.is_some_and(|(code, _)| code == "bfi") {
        Some("British Sign Language interpreter")
    } else if age >= 75 && chance(rng, 0.04) {
        Some("Large print")
    } else if chance(rng, 0.004) {
        Some("Easy read")
    } else if age >= 60 && chance(rng, 0.005) {
        Some("Hearing loop")
    } else {
        None
    };

    let (current, ex) = smoking_shares(age);
    let roll = uniform(rng);
    let mut smoking = if roll < current {
        Smoking::Current
    } else if roll < current + ex {
        Smoking::Ex
    } else {
        Smoking::Never
    };
    let mut quit = None;
    if smoking == Smoking::Current && chance(rng, 0.1) {
        smoking = Smoking::Ex;
        quit = Some(today - between(rng, 30, 2 * 365));
    }

    Demographics {
        practice,
        gender,
        age,
        birth,
        death,
        registered_from,
        registered_until,
        nhs_number,
        nhs_verification,
        local_id,
        title,
        given,
        middle,
        family,
        house_number,
        street,
        town,
        postcode,
        landline,
        mobile,
        email,
        channel,
        language,
        interpreter,
        communication_need,
        smoking,
        quit,
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use concord_domain::patient::age_on;
    use time::Date;

    use super::*;
    use crate::util::day_from_date;

    #[test]
    fn nhs_numbers_are_valid_unique_and_in_the_test_range() {
        let pool = NhsNumberPool::new(42);
        assert_eq!(pool.capacity(), crate::TEST_RANGE_NHS_NUMBERS);
        let mut seen = HashSet::new();
        for index in (0..pool.capacity()).step_by(97).chain(0..2000) {
            let number = pool.number(index).expect("within capacity");
            assert!(number.is_test_range());
            assert!(NhsNumber::parse(number.as_str()).is_ok());
            seen.insert((index, number));
        }
        let numbers: HashSet<_> = seen.iter().map(|(_, number)| number.clone()).collect();
        let indices: HashSet<_> = seen.iter().map(|(index, _)| *index).collect();
        assert_eq!(numbers.len(), indices.len());
        assert!(pool.number(pool.capacity()).is_none());
    }

    #[test]
    fn birth_dates_give_the_drawn_age() {
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        for today in [time::macros::date!(2026 - 03 - 01), time::macros::date!(2024 - 02 - 29)] {
            let today_day = day_from_date(today);
            for _ in 0..5000 {
                let (age, birth) = draw_age_and_birth(&mut rng, today_day);
                let (year, month, day) = civil_from_day(birth);
                let birth_date =
                    Date::from_calendar_date(year, time::Month::try_from(month as u8).unwrap(), day as u8).unwrap();
                assert_eq!(age_on(birth_date, today), age);
                assert!((0..=OLDEST_AGE).contains(&age));
            }
        }
    }
}
