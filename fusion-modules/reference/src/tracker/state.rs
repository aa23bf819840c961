//! Track state carried across hot swaps: a versioned little-endian layout.

use super::*;

impl Tracker {
    /// Serialises all track state (little-endian, layout
    /// [`STATE_SCHEMA`]) into `out`, replacing its contents.
    pub fn snapshot(&self, out: &mut Vec<u8>) {
        out.clear();
        out.reserve(HEADER_LEN + self.tracks.len() * TRACK_LEN);
        out.extend_from_slice(&STATE_SCHEMA.to_le_bytes());
        out.push(u8::from(self.last_stamp.is_some()));
        out.extend_from_slice(&self.last_stamp.unwrap_or(0).to_le_bytes());
        out.extend_from_slice(&self.next_id.to_le_bytes());
        out.extend_from_slice(&(self.tracks.len() as u32).to_le_bytes());
        for t in &self.tracks {
            out.extend_from_slice(&t.id.to_le_bytes());
            out.push(t.status.to_u8());
            out.push(u8::from(t.yaw_sign_known));
            out.extend_from_slice(&t.hits.to_le_bytes());
            out.extend_from_slice(&t.misses.to_le_bytes());
            out.extend_from_slice(&t.age.to_le_bytes());
            for v in t.state.iter().chain(t.covariance.transpose().iter()) {
                out.extend_from_slice(&v.to_le_bytes());
            }
            for s in [t.z, t.length, t.width, t.height] {
                out.extend_from_slice(&s.value.to_le_bytes());
                out.extend_from_slice(&s.variance.to_le_bytes());
            }
            for v in [t.yaw, t.yaw_variance, t.existence]
                .iter()
                .chain(&t.class_scores)
            {
                out.extend_from_slice(&v.to_le_bytes());
            }
        }
    }

    /// Replaces all track state with a [`Tracker::snapshot`]. Everything
    /// is validated before anything changes; on error the tracker is as
    /// it was.
    pub fn restore(&mut self, bytes: &[u8]) -> Result<(), &'static str> {
        let mut r = Reader { bytes, pos: 0 };
        if r.u64()? != STATE_SCHEMA {
            return Err("tracker state: unknown schema");
        }
        let has_stamp = r.bool()?;
        let stamp = r.i64()?;
        let next_id = r.u64()?;
        let count = r.u32()? as usize;
        if count > MAX_TRACKS {
            return Err("tracker state: more tracks than MAX_TRACKS");
        }
        if bytes.len() != HEADER_LEN + count * TRACK_LEN {
            return Err("tracker state: wrong length for its track count");
        }
        // Ids must stay far from overflow so new ones stay unique.
        if next_id == 0 || next_id > 1 << 62 {
            return Err("tracker state: next id out of range");
        }
        // First pass validates, second loads: a bad track leaves no trace.
        let body = r.clone();
        let mut prev_id = 0;
        for _ in 0..count {
            let t = read_track(&mut r)?;
            if t.id <= prev_id || t.id >= next_id {
                return Err("tracker state: track ids not ascending below next id");
            }
            prev_id = t.id;
        }
        let mut r = body;
        self.tracks.clear();
        for _ in 0..count {
            let t = read_track(&mut r)?;
            self.tracks.push(t);
        }
        self.next_id = next_id;
        self.last_stamp = has_stamp.then_some(stamp);
        Ok(())
    }
}

/// Bytes of the snapshot header: schema, stamp flag, stamp, next id, count.
pub(super) const HEADER_LEN: usize = 8 + 1 + 8 + 8 + 4;
/// Bytes per track: id, status, sign flag, hits, misses, age, then 43 f64.
pub(super) const TRACK_LEN: usize = 8 + 1 + 1 + 4 + 4 + 4 + 8 * (4 + 16 + 8 + 3 + NUM_LABELS);

#[derive(Clone)]
struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl Reader<'_> {
    fn take<const N: usize>(&mut self) -> Result<[u8; N], &'static str> {
        let end = self.pos.checked_add(N).ok_or("tracker state: truncated")?;
        let chunk = self
            .bytes
            .get(self.pos..end)
            .ok_or("tracker state: truncated")?;
        self.pos = end;
        let mut out = [0; N];
        out.copy_from_slice(chunk);
        Ok(out)
    }

    fn u8(&mut self) -> Result<u8, &'static str> {
        Ok(self.take::<1>()?[0])
    }

    fn bool(&mut self) -> Result<bool, &'static str> {
        match self.u8()? {
            0 => Ok(false),
            1 => Ok(true),
            _ => Err("tracker state: bad flag"),
        }
    }

    fn u32(&mut self) -> Result<u32, &'static str> {
        Ok(u32::from_le_bytes(self.take()?))
    }

    fn u64(&mut self) -> Result<u64, &'static str> {
        Ok(u64::from_le_bytes(self.take()?))
    }

    fn i64(&mut self) -> Result<i64, &'static str> {
        Ok(i64::from_le_bytes(self.take()?))
    }

    fn f64(&mut self) -> Result<f64, &'static str> {
        let v = f64::from_le_bytes(self.take()?);
        if v.is_finite() {
            Ok(v)
        } else {
            Err("tracker state: number not finite")
        }
    }

    fn variance(&mut self) -> Result<f64, &'static str> {
        let v = self.f64()?;
        if v >= 0.0 {
            Ok(v)
        } else {
            Err("tracker state: negative variance")
        }
    }

    fn smoothed(&mut self) -> Result<Smoothed, &'static str> {
        Ok(Smoothed {
            value: self.f64()?,
            variance: self.variance()?,
        })
    }
}

fn read_track(r: &mut Reader<'_>) -> Result<Track, &'static str> {
    let id = r.u64()?;
    let status = TrackStatus::from_u8(r.u8()?).ok_or("tracker state: bad track status")?;
    let yaw_sign_known = r.bool()?;
    let hits = r.u32()?;
    let misses = r.u32()?;
    let age = r.u32()?;
    let mut state = Vector4::zeros();
    for v in state.iter_mut() {
        *v = r.f64()?;
    }
    let mut covariance = Matrix4::zeros();
    for i in 0..4 {
        for j in 0..4 {
            covariance[(i, j)] = r.f64()?;
        }
    }
    if covariance != covariance.transpose() || (0..4).any(|i| covariance[(i, i)] < 0.0) {
        return Err("tracker state: covariance not symmetric with a non-negative diagonal");
    }
    let z = r.smoothed()?;
    let length = r.smoothed()?;
    let width = r.smoothed()?;
    let height = r.smoothed()?;
    if length.value < 0.0 || width.value < 0.0 || height.value < 0.0 {
        return Err("tracker state: negative box size");
    }
    let yaw = r.f64()?;
    if !(-PI..=PI).contains(&yaw) {
        return Err("tracker state: yaw out of range");
    }
    let yaw_variance = r.variance()?;
    let existence = r.f64()?;
    if !(0.0..=1.0).contains(&existence) {
        return Err("tracker state: existence out of range");
    }
    let mut class_scores = [0.0; NUM_LABELS];
    for s in class_scores.iter_mut() {
        *s = r.variance()?;
    }
    Ok(Track {
        id,
        uuid: uuid_of(id),
        status,
        state,
        covariance,
        z,
        length,
        width,
        height,
        yaw,
        yaw_variance,
        yaw_sign_known,
        existence,
        class_scores,
        hits,
        misses,
        age,
    })
}
